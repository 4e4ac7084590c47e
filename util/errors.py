"""The one exception type for bad user input.

Entry points (train.py, test.py, the dataset tools) catch ``UserError`` and print its message as a single
line, ``error: <message>``, then exit with status 2 -- no traceback. Raise it at the boundary where the bad
input is first seen, and put the fix in the message: name the flag or the file and what to do instead.
"""


class UserError(Exception):
    """Bad input from the user (a flag, a file, a folder) that the user can fix."""
