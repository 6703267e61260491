"""The one exception type for bad user input.

Every command validates its inputs up front and raises `BadInput` with one sentence that
names the file, row and field; the CLI turns it into that sentence on stderr and exit
code 2 (1 is left for internal errors). It subclasses ValueError so library callers can
catch it the ordinary way.
"""


class BadInput(ValueError):
    """Input a user can fix: the message is one sentence naming what is wrong and where."""
