"""`ktp-gateway doctor`: one command that says what is wrong with this gateway, and the fix.

What support asks first in every eID project: is the PC/SC service up, which readers are there,
is the SAM in and activated, is the agreement in force, does the registry answer and accept our
login, is the clock right, is the configuration sane. Each check family is one module; each line
is OK, WARN or FAIL with a one-line fix; nothing personal is ever printed. See
docs/operator-guide.md.
"""
