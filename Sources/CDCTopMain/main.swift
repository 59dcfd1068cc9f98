// The shipped `cdctop`: every command lives in the App library, which cdctop-dev runs too.
import App

CDCTop.main()
