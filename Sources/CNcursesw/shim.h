#ifndef CDCTOP_NCURSES_SHIM
#define CDCTOP_NCURSES_SHIM
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <langinfo.h>
#include <signal.h>
#include <string.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/* Function-like macros and globals that Swift cannot import (or that Swift 6 flags as
   unsafe shared state) exposed as tiny functions for the dashboard's curses backend. */
static inline WINDOW *cdctop_stdscr(void) { return stdscr; }
static inline int cdctop_lines(void) { return LINES; }
static inline int cdctop_cols(void) { return COLS; }
static inline int cdctop_colors(void) { return COLORS; }
static inline int cdctop_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t cdctop_a_normal(void) { return A_NORMAL; }
static inline attr_t cdctop_a_bold(void) { return A_BOLD; }
static inline attr_t cdctop_a_reverse(void) { return A_REVERSE; }
static inline attr_t cdctop_a_dim(void) { return A_DIM; }
static inline attr_t cdctop_a_underline(void) { return A_UNDERLINE; }
static inline int cdctop_key_code_yes(void) { return KEY_CODE_YES; }
static inline void cdctop_timeout(int ms) { wtimeout(stdscr, ms); }
/* newterm instead of initscr: initscr exits the process on an unknown TERM, newterm returns NULL. */
static inline SCREEN *cdctop_newterm(void) { return newterm(NULL, stdout, stdin); }

/* Reads one key: returns ERR on timeout, KEY_CODE_YES when *key is a function key (KEY_UP…),
   OK when *key is a character. */
static inline int cdctop_get_key(unsigned int *key) {
    wint_t ch = 0;
    int rc = wget_wch(stdscr, &ch);
    *key = (unsigned int)ch;
    return rc;
}

/* Mouse: clicks and the wheel (the terminal then reports them instead of selecting text; Shift+drag selects). */
static inline void cdctop_enable_mouse(void) {
    /* Every button event, releases included, though only presses are used: ncurses' wgetch keeps waiting,
       past its timeout, after a report it was not asked for (a release), which froze the dashboard. */
    mmask_t mask = ALL_MOUSE_EVENTS & ~REPORT_MOUSE_POSITION;
    mousemask(mask, NULL);
    mouseinterval(0);
}
static inline int cdctop_key_mouse(void) { return KEY_MOUSE; }
/* After KEY_MOUSE: 1 a left click, 4 wheel up, 5 wheel down, 0 something else, -1 no event. */
static inline int cdctop_get_mouse(int *x, int *y) {
    MEVENT e;
    if (getmouse(&e) != OK) return -1;
    *x = e.x; *y = e.y;
    if (e.bstate & BUTTON4_PRESSED) return 4;
#ifdef BUTTON5_PRESSED
    if (e.bstate & BUTTON5_PRESSED) return 5;
#endif
    if (e.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) return 1;
    return 0;
}

/* Draws one grapheme (up to 5 code points) with attributes and a colour pair at (y, x). */
static inline int cdctop_put_cell(int y, int x, const wchar_t *text, attr_t attrs, short pair) {
    cchar_t cell;
    memset(&cell, 0, sizeof cell);
    if (setcchar(&cell, text, attrs, pair, NULL) != OK) return ERR;
    return mvwadd_wch(stdscr, y, x, &cell);
}

static inline void cdctop_set_background(attr_t attrs, short pair) {
    cchar_t cell;
    wchar_t blank[2] = { L' ', 0 };
    memset(&cell, 0, sizeof cell);
    setcchar(&cell, blank, attrs, pair, NULL);
    wbkgrndset(stdscr, &cell);
}

static inline int cdctop_locale_is_utf8(void) {
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

/* Crash signals: give the terminal back, then die the way the signal meant (core, status). */
static void cdctop_crash_handler(int signo) {
    endwin();
    signal(signo, SIG_DFL);
    raise(signo);
}

static inline void cdctop_install_crash_handlers(void) {
    int signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = cdctop_crash_handler;
        action.sa_flags = SA_NODEFER | SA_RESETHAND;
        sigemptyset(&action.sa_mask);
        sigaction(signals[i], &action, NULL);
    }
}

static inline void cdctop_restore_crash_handlers(void) {
    int signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) signal(signals[i], SIG_DFL);
}

/* SIGINT/SIGTERM: the handler (Swift) only sets a flag; the input loop sees it within 100 ms
   and leaves through the normal path, which restores the terminal. */
static inline void cdctop_install_quit_handler(void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

static inline void cdctop_restore_quit_handler(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}
#endif
