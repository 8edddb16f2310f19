"""The params of every engine operation as a strict pydantic model.

One model per operation (engine/api/operations.py names it); every route validates with it —
the engine facade, the JSON-RPC dispatcher, the console — and the OpenRPC document is generated
from it, so they cannot disagree. Every model forbids unknown keys and is strict: a JSON
float (even 1.0), a string or a bool where an integer is expected is refused, and so is a
number outside 0..2^64-1 for an amount. Field order is the order of by-position params.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from solders.pubkey import Pubkey

from engine.frt import model as frt_model
from engine.threads import THREAD_TYPES

U64_MAX = 2**64 - 1
BASE58_PATTERN = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"
THREAD_ID_PATTERN = rf"^({'|'.join(THREAD_TYPES)})_[1-9][0-9]{{0,17}}$"


def _pubkey(value: str) -> str:
    try:
        Pubkey.from_string(value)
    except ValueError:
        raise ValueError("not a valid base58 public key") from None
    return value


PubkeyStr = Annotated[str, Field(pattern=BASE58_PATTERN, description="A base58 Solana public key."),
                      AfterValidator(_pubkey)]
PoolId = Annotated[PubkeyStr, Field(description="The pool's state address (as list_pools reports it).")]
ThreadId = Annotated[str, Field(pattern=THREAD_ID_PATTERN, max_length=40,
                                description='A thread id such as "deposit_1", "withdrawal_3", "swap_2".')]
Amount = Annotated[int, Field(ge=0, le=U64_MAX, description="Base units (u64): 0 .. 2^64-1.")]
PositiveAmount = Annotated[int, Field(ge=1, le=U64_MAX, description="Base units (u64): 1 .. 2^64-1.")]
Decimals = Annotated[int, Field(ge=0, le=18, description="Token decimals, 0 .. 18.")]
TokenType = Literal["A", "B"]
Direction = Literal["a_to_b", "b_to_a"]
FundingType = Literal["sol", "token_a", "token_b", "lp_tokens"]
Limit = Annotated[int, Field(ge=1, le=100_000, description="At most this many items, newest first.")]


class Params(BaseModel):
    """Base of every params model: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(Params):
    pass


class CreatePoolParams(Params):
    token_a_decimals: Decimals | None = Field(None, description="Decimals of token A; random if absent.")
    token_b_decimals: Decimals | None = Field(None, description="Decimals of token B; random if absent.")
    ratio_whole_number: Annotated[int, Field(ge=1, le=U64_MAX)] | None = Field(
        None, description='N in "1 A = N B" (a_to_b) or "1 B = N A" (b_to_a); random if absent.')
    ratio_direction: Direction | None = Field(None, description='"a_to_b" or "b_to_a"; random if absent.')
    flags: Literal[0, 32, 64, 96] | None = Field(
        None, description="Pool flags: 0, 32 (owner-only swaps), 64 (exact exchange) or 96; default 0.")

    @model_validator(mode="after")
    def _ratio_fits_u64(self) -> "CreatePoolParams":
        given = (self.token_a_decimals, self.token_b_decimals, self.ratio_whole_number, self.ratio_direction)
        if None not in given:
            ratio_a, ratio_b = frt_model.ratio_from_human(self.ratio_whole_number, self.token_a_decimals,
                                                          self.token_b_decimals, self.ratio_direction)
            if ratio_a > U64_MAX or ratio_b > U64_MAX:
                raise ValueError("the ratio does not fit in u64 base units with these decimals")
        return self


class PoolParams(Params):
    pool_id: PoolId


class OptionalPoolParams(Params):
    pool_id: PoolId | None = Field(None, description="Only the threads of this pool; all pools if absent.")


class CreateDepositThreadParams(Params):
    pool_id: PoolId
    token_type: TokenType = Field(description='The token it deposits: "A" or "B".')
    initial_amount: Amount = Field(0, description="Tokens minted to its wallet at creation (base units, may be 0).")
    auto_refill: bool = Field(
        False, description="Mint initial_amount again when the balance drops under 5 % of it "
                           "(needs initial_amount > 0).")
    share_lp_tokens: bool = Field(True, description="Share its LP tokens with running withdrawal threads.")

    @model_validator(mode="after")
    def _refill_needs_amount(self) -> "CreateDepositThreadParams":
        if self.auto_refill and self.initial_amount == 0:
            raise ValueError("auto_refill needs initial_amount > 0")
        return self


class CreateWithdrawalThreadParams(Params):
    pool_id: PoolId
    token_type: TokenType = Field(description='The side whose LP tokens it withdraws: "A" or "B".')


class CreateSwapThreadParams(Params):
    pool_id: PoolId
    direction: Direction = Field(description='"a_to_b" or "b_to_a"; one swap thread per direction per pool.')
    initial_amount: Amount = Field(0, description="Input tokens minted to its wallet at creation (may be 0).")


AttackCategory = Literal["admin", "boundary", "substitution", "outside"]


class CreateAttackThreadParams(Params):
    pool_id: PoolId
    initial_amount: Amount = Field(
        1_000_000, description="Base units of each token minted to its wallet at creation (a quarter of each is "
                               "deposited for its own LP); refilled when a side falls under a quarter.")
    categories: list[AttackCategory] | None = Field(
        None, min_length=1, description='The attack categories: "admin", "boundary", "substitution" (the '
                                       'default: all three) and "outside" (only when asked: a token sent into a '
                                       'vault stays there, so the ledger audit then fails for that pool).')


class ThreadParams(Params):
    thread_id: ThreadId


class FundThreadParams(Params):
    thread_id: ThreadId
    funding_type: FundingType = Field(description='"sol", "token_a", "token_b" or "lp_tokens".')
    amount: PositiveAmount = Field(description="Lamports for sol, base units otherwise.")


class MintAndSendTokensParams(Params):
    pool_id: PoolId
    token_type: TokenType = Field(description="Which of the pool's tokens to mint.")
    recipient_address: PubkeyStr = Field(description="The wallet that receives the tokens (its ATA is created).")
    amount: PositiveAmount


class ThreadSessionsParams(Params):
    thread_id: ThreadId
    limit: Limit | None = Field(None, description="Only the newest `limit` sessions; all if absent.")


class FindingsParams(Params):
    limit: Limit = Field(50, description="Only the newest `limit` findings (the count covers all).")


class SnapshotParams(Params):
    feed_limit: Annotated[int, Field(ge=0, le=1_000)] = Field(
        100, description="At most this many feed entries (deduplicated errors and findings), newest first.")


class AirdropParams(Params):
    lamports: PositiveAmount = Field(description="Lamports to request from the cluster's faucet.")
    address: PubkeyStr | None = Field(None, description="Recipient; the core wallet if absent.")


class SetOperatorParams(Params):
    enabled: bool | None = Field(None, description="Turn the operator (random admin actions) on or off; unchanged "
                                                   "if absent.")
    interval_s: Annotated[float, Field(gt=0, le=86_400)] | None = Field(
        None, description="Mean seconds between two operator actions (per shard); unchanged if absent.")
