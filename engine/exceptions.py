"""Domain errors of the engine, each with the JSON-RPC code the API answers with.

-1001..-1003 are the service design's codes; the rest extend the same range."""
from __future__ import annotations


class EngineError(Exception):
    code = -1000

    def __init__(self, message: str, data: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data or {}


class DuplicateSwapDirection(EngineError):
    code = -1001


class PoolNotFound(EngineError):
    code = -1002


class ThreadInErrorState(EngineError):
    code = -1003


class ThreadNotFound(EngineError):
    code = -1004


class ThreadRunning(EngineError):
    code = -1005


class InvalidThreadState(EngineError):
    code = -1006


class OperationFailed(EngineError):
    """A chain operation the engine needed (funding, minting, pool creation) failed."""

    code = -1007


class ChainUnavailable(EngineError):
    code = -1008


class InsufficientCoreFunds(EngineError):
    code = -1009


ERROR_TABLE = {cls.__name__: cls.code for cls in (
    DuplicateSwapDirection, PoolNotFound, ThreadInErrorState, ThreadNotFound, ThreadRunning,
    InvalidThreadState, OperationFailed, ChainUnavailable, InsufficientCoreFunds)}


class InvalidRequest(EngineError):
    """Arguments the engine cannot act on (the API validates shapes before this)."""

    code = -1010


ERROR_TABLE[InvalidRequest.__name__] = InvalidRequest.code


class DataDirLocked(EngineError):
    """Another live process has this data directory open (engine/datadir_lock.py)."""

    code = -1016


ERROR_TABLE[DataDirLocked.__name__] = DataDirLocked.code


class NotSupported(EngineError):
    """The cluster does not offer this (an airdrop where there is no faucet)."""

    code = -1014


class InvalidParams(EngineError):
    """Params that fail their operation's model (engine/api/params.py); `data` lists the errors."""

    code = -32602
