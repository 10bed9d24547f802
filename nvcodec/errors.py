"""The exceptions nvcodec raises for bad input; each carries one clear line for the user."""


class NvcodecError(Exception):
    """Base of every error caused by input or settings rather than by a bug."""


class VideoError(NvcodecError):
    """A video could not be read or written (missing, unreadable, impossible size or range)."""


class FitError(NvcodecError):
    """Fitting could not proceed (bad settings, or the loss diverged and recovery failed)."""


class CfvError(NvcodecError):
    """The data is not a valid .cfv file: corrupt, truncated or malformed."""


class CfvVersionError(CfvError):
    """The file needs a newer reader than this one."""
