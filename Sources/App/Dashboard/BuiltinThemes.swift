// Generated from themes/*.theme (ThemeTests checks they stay identical): the themes work even
// when no themes folder is found next to the executable.
enum BuiltinThemes {
    static let texts: [String: String] = [
        "dark": #"""
        # cdctop theme "dark" (the default): soft colours on the terminal's own dark background.
        # Format (TOML): role = "COLOUR [bold] [dim] [underline] [reverse]", one per line; "#" starts a comment.
        # Roles: text dim accent good warn bad bar border (roles left out look like text), and
        # background = "COLOUR" (default: the terminal's own background).
        # COLOUR: #rrggbb (mapped to the nearest colour the terminal has: 256, 16 or 8), a 256-colour
        # index 0-255 (unquoted too: dim = 244), a name (black red green yellow blue magenta cyan white,
        # bright-NAME) or default (the terminal's own colour). NO_COLOR in the environment always selects mono.
        text   = "#d0d0d0"
        dim    = "#808080"
        accent = "#5fafff bold"
        good   = "#87d787"
        warn   = "#ffd75f"
        bad    = "#ff5f5f bold"
        bar    = "#5fafd7"
        border = "#585858"
        """# + "\n",
        "light": #"""
        # cdctop theme "light": dark text on a white background.
        # Format (TOML): role = "COLOUR [bold] [dim] [underline] [reverse]", one per line; "#" starts a comment.
        # Roles: text dim accent good warn bad bar border (roles left out look like text), and
        # background = "COLOUR" (default: the terminal's own background).
        # COLOUR: #rrggbb (mapped to the nearest colour the terminal has: 256, 16 or 8), a 256-colour
        # index 0-255 (unquoted too: dim = 244), a name (black red green yellow blue magenta cyan white,
        # bright-NAME) or default (the terminal's own colour). NO_COLOR in the environment always selects mono.
        background = "#ffffff"
        text   = "#1c1c1c"
        dim    = "#6c6c6c"
        accent = "#005fd7 bold"
        good   = "#008700"
        warn   = "#af5f00 bold"
        bad    = "#d70000 bold"
        bar    = "#0087af"
        border = "#a8a8a8"
        """# + "\n",
        "high-contrast": #"""
        # cdctop theme "high-contrast": pure colours, bold, on black, for bright rooms and tired eyes.
        # Format (TOML): role = "COLOUR [bold] [dim] [underline] [reverse]", one per line; "#" starts a comment.
        # Roles: text dim accent good warn bad bar border (roles left out look like text), and
        # background = "COLOUR" (default: the terminal's own background).
        # COLOUR: #rrggbb (mapped to the nearest colour the terminal has: 256, 16 or 8), a 256-colour
        # index 0-255 (unquoted too: dim = 244), a name (black red green yellow blue magenta cyan white,
        # bright-NAME) or default (the terminal's own colour). NO_COLOR in the environment always selects mono.
        background = "black"
        text   = "bright-white bold"
        dim    = "white"
        accent = "bright-cyan bold"
        good   = "bright-green bold"
        warn   = "bright-yellow bold"
        bad    = "bright-red bold reverse"
        bar    = "bright-cyan"
        border = "bright-white"
        """# + "\n",
        "mono": #"""
        # cdctop theme "mono": no colours, only bold, dim, underline and reverse (also used for NO_COLOR).
        # Format (TOML): role = "COLOUR [bold] [dim] [underline] [reverse]", one per line; "#" starts a comment.
        # Roles: text dim accent good warn bad bar border (roles left out look like text), and
        # background = "COLOUR" (default: the terminal's own background).
        # COLOUR: #rrggbb (mapped to the nearest colour the terminal has: 256, 16 or 8), a 256-colour
        # index 0-255 (unquoted too: dim = 244), a name (black red green yellow blue magenta cyan white,
        # bright-NAME) or default (the terminal's own colour). NO_COLOR in the environment always selects mono.
        text   = "default"
        dim    = "default dim"
        accent = "default bold"
        good   = "default"
        warn   = "default bold"
        bad    = "default bold underline"
        bar    = "default"
        border = "default dim"
        """# + "\n",
    ]
}
