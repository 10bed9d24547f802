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


class FileError(NvcodecError):
    """A file could not be read or written: missing, unreadable, or an output that exists."""


class SettingsError(NvcodecError):
    """Options that are out of range or cannot be used together."""


class DeviceError(NvcodecError):
    """The device asked for is not available on this machine."""


class NvcodecWarning(UserWarning):
    """Something the user should know that does not stop the work (such as rounded samples)."""
