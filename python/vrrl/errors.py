"""vrrl.Error: every failure the reader reports, with the C++ library's kinds."""

import errno as errno_codes
import os

#: The kinds of vrrl::ErrorKind (include/vrrl/error.hpp), under the same names.
KINDS = (
    "io",               # a system call failed; .errno says which error
    "header_mismatch",  # not a VRRL file, a bad slot (foreign magic; v2: torn or corrupted), a malformed recording
    "zero_capacity",    # capacity 0 in a header
    "capacity_overflow",  # capacity above 1,048,576 in a header
    "truncated",        # shorter than the header promises, or sequences missing from a recording
    "locked",           # another writer holds the log open
    "not_a_log_file",   # a directory, fifo, device, ... where a log (or a segment) was expected
    "not_a_recording",  # a directory without recording metadata, or metadata that is not a recording's
    "invalid_name",     # a stream name that is empty, too long, or has characters a stream may not have
)


class Error(Exception):
    """What went wrong, on which path, and how to fix it.

    The message reads like the C++ library's:
    ``vrrl OPERATION `PATH`: WHAT IS WRONG. Fix: FIX.``
    and every part is also an attribute: ``kind`` (one of ``KINDS``),
    ``operation``, ``path``, ``what_is_wrong``, ``fix``, ``errno`` (0 when no
    system call failed) and ``slot`` (the slot index, for record-level errors).
    """

    def __init__(self, kind, operation, path, what_is_wrong, fix, errno=0, slot=None):
        if kind not in KINDS:
            raise ValueError(f"unknown vrrl error kind {kind!r}")
        self.kind = kind
        self.operation = operation
        self.path = os.fspath(path) if path is not None else ""
        self.what_is_wrong = what_is_wrong
        self.fix = fix
        self.errno = errno
        self.slot = slot
        where = f" `{self.path}`" if self.path else ""
        super().__init__(f"vrrl {operation}{where}: {what_is_wrong}. Fix: {fix}.")


def _default_fix(error_number, path):
    """The C++ library's hints for a failed system call (lib/errors.cpp)."""
    if error_number == errno_codes.ENOENT:
        return "check the path; no log exists there yet (a writer creates it with vrrl::RingLog::open)"
    if error_number in (errno_codes.EACCES, errno_codes.EPERM):
        return f"check the permissions of `{os.fspath(path)}` and its directory"
    if error_number == errno_codes.ENOTDIR:
        return "a component of the path is not a directory; check the path"
    if error_number == errno_codes.ENAMETOOLONG:
        return "use a shorter path"
    if error_number == errno_codes.ENXIO:
        return "the path is a socket or a device without a reader; pass the path of a VRRL log file"
    if error_number == errno_codes.EIO:
        return "the device reported an I/O error; check it (dmesg) and restore the log from a good copy"
    return "check the path and its permissions"


def io_error(operation, path, call, os_error, fix=None):
    """An Error of kind io from an OSError raised by `call`."""
    number = os_error.errno or errno_codes.EIO
    return Error(
        "io", operation, path,
        f"{call} failed: {os.strerror(number)} (errno {number})",
        fix or _default_fix(number, path),
        errno=number,
    )
