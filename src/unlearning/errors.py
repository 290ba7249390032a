"""The one exception type for mistakes a user can fix (config, files, checkpoints, conditions)."""


class UserError(Exception):
    """A problem the user caused and can fix; its message is one sentence naming cause and fix.

    Entry points print only the message (no traceback) and exit non-zero.
    """
