"""The one exception type for a user's mistake.

Scripts catch :class:`UserError` and print its message as one line, with a
non-zero exit status, instead of a traceback. Every message names the file
(or flag) at fault and, where there is one, the fix.
"""


class UserError(Exception):
    """A problem with the user's input: a file, a flag, a table."""
