"""Account layouts (CONTRACT.md §5) and SPL Token layouts against the real token program."""
import dataclasses

import pytest
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata
from spl.token import instructions as token_ix
from spl.token import models as token_models
from spl.token.models import AuthorityType

from engine.frt.constants import MAIN_TREASURY_SIZE, MINT_SIZE, POOL_STATE_SIZE, TOKEN_ACCOUNT_SIZE, TOKEN_PROGRAM_ID
from engine.frt.state import MainTreasuryState, Mint, PoolState, ProgramData, SystemState, TokenAccount

KEY_1 = Pubkey(bytes([1] * 32))
KEY_2 = Pubkey(bytes([2] * 32))
KEY_3 = Pubkey(bytes([3] * 32))


def sample_pool_state() -> PoolState:
    keys = [Pubkey(bytes([i] * 32)) for i in range(1, 8)]
    ints = [(i + 1) * 1_000_003 for i in range(4)]
    return PoolState(
        *keys, *ints,
        pool_authority_bump_seed=253, token_a_vault_bump_seed=251, token_b_vault_bump_seed=252,
        lp_token_a_mint_bump_seed=252, lp_token_b_mint_bump_seed=255, flags=1 | 64,
        contract_liquidity_fee=13_000_000, swap_contract_fee=271_500,
        collected_fees_token_a=1, collected_fees_token_b=2, total_fees_withdrawn_token_a=3,
        total_fees_withdrawn_token_b=4, collected_liquidity_fees=26_000_000, collected_swap_contract_fees=814_500,
        total_sol_fees_collected=27_000_000, last_consolidation_timestamp=-5, total_consolidations=1,
        total_fees_consolidated=185_500, max_swap_amount=11, min_swap_amount=12, max_deposit_amount=13,
        min_deposit_amount=14, max_withdrawal_amount=15, min_withdrawal_amount=2**64 - 1, reserved=(21, 22, 23, 24),
    )


# --- PoolState ------------------------------------------------------------------------------------

def test_pool_state_offsets():
    pool = sample_pool_state()
    data = pool.encode()
    assert len(data) == POOL_STATE_SIZE
    assert data[0:32] == bytes([1] * 32)
    assert data[192:224] == bytes([7] * 32)
    assert data[224:232] == (1_000_003).to_bytes(8, "little")
    assert data[256:262] == bytes([253, 251, 252, 252, 255, 65])
    assert data[262:270] == (13_000_000).to_bytes(8, "little")
    assert data[310:318] == (26_000_000).to_bytes(8, "little")
    assert data[334:342] == (-5).to_bytes(8, "little", signed=True)
    assert data[350:358] == (185_500).to_bytes(8, "little")
    assert data[358:366] == (11).to_bytes(8, "little")
    assert data[398:406] == bytes([0xFF] * 8)
    assert data[406:414] == (21).to_bytes(8, "little")


def test_pool_state_round_trip():
    pool = sample_pool_state()
    assert PoolState.decode(pool.encode()) == pool
    raw = bytes(range(256)) + bytes(range(182))
    assert PoolState.decode(raw).encode() == raw


def test_pool_state_properties():
    pool = sample_pool_state()
    assert pool.simple_ratio and pool.exact_exchange
    assert not (pool.liquidity_paused or pool.swaps_paused or pool.owner_only)
    paused = dataclasses.replace(pool, flags=2 | 4 | 32)
    assert paused.liquidity_paused and paused.swaps_paused and paused.owner_only
    assert not paused.simple_ratio
    assert pool.pending_sol_fees == 27_000_000 - 185_500
    assert PoolState().encode() == bytes(POOL_STATE_SIZE)


@pytest.mark.parametrize("size", [0, POOL_STATE_SIZE - 1, POOL_STATE_SIZE + 1, 440])
def test_pool_state_rejects_wrong_length(size):
    with pytest.raises(ValueError):
        PoolState.decode(bytes(size))


# --- SystemState --------------------------------------------------------------------------------

def test_system_state_with_pending_admin():
    state = SystemState(True, 1_700_000_000, 3, KEY_1, KEY_2, 1_700_000_123)
    data = state.encode()
    assert len(data) == 83
    assert data[0] == 1 and data[9] == 3
    assert data[10:42] == bytes(KEY_1)
    assert data[42] == 1 and data[43:75] == bytes(KEY_2)
    assert data[75:83] == (1_700_000_123).to_bytes(8, "little")
    assert SystemState.decode(data) == state


def test_system_state_without_pending_admin_writes_51_bytes():
    state = SystemState(False, 0, 0, KEY_1, None, 0)
    data = state.encode()
    assert len(data) == 51
    assert data[42] == 0 and data[43:51] == bytes(8)
    assert SystemState.decode(data) == state


def test_system_state_encode_into_keeps_stale_tail():
    old = SystemState(False, 0, 0, KEY_1, KEY_2, 1_000).encode()
    completed = SystemState(False, 0, 0, KEY_2, None, 0)
    new = completed.encode_into(old)
    assert len(new) == 83
    assert new[:51] == completed.encode()
    assert new[51:] == old[51:]
    assert SystemState.decode(new) == completed  # trailing bytes tolerated


def test_system_state_encode_into_too_small_buffer():
    with pytest.raises(ValueError):
        SystemState(pending_admin_authority=KEY_1).encode_into(bytes(51))


@pytest.mark.parametrize("data", [
    b"",
    bytes(50),                                  # None variant but timestamp cut short
    bytes(42) + b"\x01" + bytes(39),            # Some variant but too short
    b"\x02" + bytes(82),                        # bad bool
    bytes(42) + b"\x02" + bytes(40),            # bad Option tag
])
def test_system_state_rejects_bad_data(data):
    with pytest.raises(ValueError):
        SystemState.decode(data)


# --- MainTreasuryState ---------------------------------------------------------------------------

def test_main_treasury_round_trip():
    values = [i * 1_000_000_007 for i in range(1, 18)]
    values[12] = -1  # last_update_timestamp is i64
    values[14] = -2  # last_withdrawal_timestamp is i64
    state = MainTreasuryState(*values)
    data = state.encode()
    assert len(data) == MAIN_TREASURY_SIZE
    assert data[24:32] == values[3].to_bytes(8, "little")  # pool_creation_count
    assert data[96:104] == bytes([0xFF] * 8)
    assert MainTreasuryState.decode(data) == state
    assert state.total_donations == values[16]
    assert MainTreasuryState.decode(bytes(MAIN_TREASURY_SIZE)) == MainTreasuryState()


def test_main_treasury_rejects_wrong_length():
    with pytest.raises(ValueError):
        MainTreasuryState.decode(bytes(MAIN_TREASURY_SIZE - 1))


# --- ProgramData -------------------------------------------------------------------------------

def test_program_data_round_trip():
    with_authority = ProgramData(slot=123_456, upgrade_authority_address=KEY_3)
    data = with_authority.encode()
    assert data == (3).to_bytes(4, "little") + (123_456).to_bytes(8, "little") + b"\x01" + bytes(KEY_3)
    assert ProgramData.decode(data) == with_authority
    assert ProgramData.decode(data + b"\x7fELF...") == with_authority

    revoked = ProgramData(slot=9, upgrade_authority_address=None)
    assert len(revoked.encode()) == 45
    assert ProgramData.decode(revoked.encode()) == revoked


@pytest.mark.parametrize("data", [
    (2).to_bytes(4, "little") + bytes(41),              # Program, not ProgramData
    (3).to_bytes(4, "little") + bytes(8),               # missing Option tag
    (3).to_bytes(4, "little") + bytes(8) + b"\x01",     # Some without the key
    (3).to_bytes(4, "little") + bytes(8) + b"\x05" + bytes(32),
])
def test_program_data_rejects_bad_data(data):
    with pytest.raises(ValueError):
        ProgramData.decode(data)


# --- SPL Token against the real program ------------------------------------------------------

class TokenWorld:
    """A LiteSVM with one mint and one token account owned by `owner`."""

    def __init__(self) -> None:
        self.svm = LiteSVM()
        self.payer = Keypair()
        self.owner = Keypair()
        self.freezer = Keypair()
        self.mint = Keypair()
        self.account = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 10_000_000_000)
        self._create(self.mint, MINT_SIZE)
        self.send(token_ix.initialize_mint(token_models.InitializeMintParams(
            decimals=6, program_id=TOKEN_PROGRAM_ID, mint=self.mint.pubkey(),
            mint_authority=self.payer.pubkey(), freeze_authority=self.freezer.pubkey())))
        self._create(self.account, TOKEN_ACCOUNT_SIZE)
        self.send(token_ix.initialize_account(token_models.InitializeAccountParams(
            program_id=TOKEN_PROGRAM_ID, account=self.account.pubkey(), mint=self.mint.pubkey(),
            owner=self.owner.pubkey())))

    def _create(self, keypair: Keypair, space: int) -> None:
        self.send(create_account(CreateAccountParams(
            from_pubkey=self.payer.pubkey(), to_pubkey=keypair.pubkey(),
            lamports=self.svm.minimum_balance_for_rent_exemption(space), space=space, owner=TOKEN_PROGRAM_ID)),
            keypair)

    def send(self, instruction, *signers: Keypair) -> None:
        tx = Transaction.new_signed_with_payer(
            [instruction], self.payer.pubkey(), [self.payer, *signers], self.svm.latest_blockhash())
        result = self.svm.send_transaction(tx)
        assert not isinstance(result, FailedTransactionMetadata), result
        self.svm.expire_blockhash()

    def data(self, key: Pubkey) -> bytes:
        return bytes(self.svm.get_account(key).data)


@pytest.fixture(scope="module")
def world() -> TokenWorld:
    world = TokenWorld()
    world.send(token_ix.mint_to(token_models.MintToParams(
        program_id=TOKEN_PROGRAM_ID, mint=world.mint.pubkey(), dest=world.account.pubkey(),
        mint_authority=world.payer.pubkey(), amount=1_234_567)))
    return world


def test_real_mint(world):
    data = world.data(world.mint.pubkey())
    mint = Mint.decode(data)
    assert mint == Mint(mint_authority=world.payer.pubkey(), supply=1_234_567, decimals=6,
                        is_initialized=True, freeze_authority=world.freezer.pubkey())
    assert mint.encode() == data


def test_real_token_account_lifecycle(world):
    account_key, owner = world.account.pubkey(), world.owner
    delegate, closer = Keypair().pubkey(), Keypair().pubkey()

    data = world.data(account_key)
    plain = TokenAccount.decode(data)
    assert plain == TokenAccount(mint=world.mint.pubkey(), owner=owner.pubkey(), amount=1_234_567)
    assert plain.is_initialized and not plain.is_frozen
    assert plain.encode() == data

    world.send(token_ix.approve(token_models.ApproveParams(
        program_id=TOKEN_PROGRAM_ID, source=account_key, delegate=delegate, owner=owner.pubkey(), amount=1000)),
        owner)
    world.send(token_ix.set_authority(token_models.SetAuthorityParams(
        program_id=TOKEN_PROGRAM_ID, account=account_key, authority=AuthorityType.CLOSE_ACCOUNT,
        current_authority=owner.pubkey(), new_authority=closer)), owner)
    world.send(token_ix.freeze_account(token_models.FreezeAccountParams(
        program_id=TOKEN_PROGRAM_ID, account=account_key, mint=world.mint.pubkey(),
        authority=world.freezer.pubkey())), world.freezer)
    data = world.data(account_key)
    busy = TokenAccount.decode(data)
    assert busy == dataclasses.replace(plain, delegate=delegate, delegated_amount=1000,
                                       close_authority=closer, state=2)
    assert busy.is_frozen
    assert busy.encode() == data

    # Revoking clears the COption tag but the token program leaves the old key bytes behind.
    world.send(token_ix.thaw_account(token_models.ThawAccountParams(
        program_id=TOKEN_PROGRAM_ID, account=account_key, mint=world.mint.pubkey(),
        authority=world.freezer.pubkey())), world.freezer)
    world.send(token_ix.revoke(token_models.RevokeParams(
        program_id=TOKEN_PROGRAM_ID, account=account_key, owner=owner.pubkey())), owner)
    before_revoke = data
    data = world.data(account_key)
    revoked = TokenAccount.decode(data)
    assert revoked == dataclasses.replace(busy, delegate=None, delegated_amount=0, state=1)
    assert data[76:108] == bytes(delegate)
    assert revoked.encode_into(before_revoke) == data
    assert revoked.encode()[76:108] == bytes(32)


def test_real_mint_after_removing_freeze_authority():
    world = TokenWorld()
    before = world.data(world.mint.pubkey())
    world.send(token_ix.set_authority(token_models.SetAuthorityParams(
        program_id=TOKEN_PROGRAM_ID, account=world.mint.pubkey(), authority=AuthorityType.FREEZE_ACCOUNT,
        current_authority=world.freezer.pubkey(), new_authority=None)), world.freezer)
    data = world.data(world.mint.pubkey())
    mint = Mint.decode(data)
    assert mint.freeze_authority is None and mint.supply == 0
    assert mint.encode_into(before) == data


def test_native_token_account_round_trip():
    native = TokenAccount(mint=KEY_1, owner=KEY_2, amount=5, is_native=2_039_280, close_authority=KEY_3)
    data = native.encode()
    assert data[109:113] == b"\x01\x00\x00\x00"
    assert data[113:121] == (2_039_280).to_bytes(8, "little")
    assert TokenAccount.decode(data) == native


def test_token_layouts_reject_bad_data():
    good_account = TokenAccount(mint=KEY_1, owner=KEY_2).encode()
    good_mint = Mint(mint_authority=KEY_1).encode()
    with pytest.raises(ValueError):
        TokenAccount.decode(good_account[:-1])
    with pytest.raises(ValueError):
        TokenAccount.decode(good_account[:108] + b"\x03" + good_account[109:])  # state
    with pytest.raises(ValueError):
        TokenAccount.decode(good_account[:72] + b"\x02" + good_account[73:])  # delegate COption tag
    with pytest.raises(ValueError):
        Mint.decode(good_mint + b"\x00")
    with pytest.raises(ValueError):
        Mint.decode(good_mint[:45] + b"\x02" + good_mint[46:])  # is_initialized
    with pytest.raises(ValueError):
        Mint.decode(b"\x00\x01\x00\x00" + good_mint[4:])  # mint_authority COption tag
