"""Where the built-in emulator used to be more lenient than a validator running FRT v0.17.1070.

Each test cites the line of the program (github.com/Fixed-Asset-Ratio-Trading/fixed-ratio-trading,
v0.17.1070) or the runtime rule it reproduces. The last group runs a deliberately misbehaving
emulated instruction and checks that the runtime's rules around the emulator refuse it, as a
validator refuses any program that does the same.
"""
from __future__ import annotations

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import (
    approve,
    create_idempotent_associated_token_account,
    freeze_account,
    initialize_mint2,
    sync_native,
)
from spl.token.models import ApproveParams, FreezeAccountParams, InitializeMint2Params, SyncNativeParams

from engine.chain.ledger import EmbeddedLedger
from engine.chain.runtime_rules import RuntimeFrames
from engine.frt import instructions as ix
from engine.frt import model
from engine.frt.client import token_address
from engine.frt.constants import (
    CU_LIMITS, LOCALNET_PROGRAM_ID, MINT_SIZE, SYSTEM_PROGRAM_ID, TOKEN_ACCOUNT_SIZE, TOKEN_PROGRAM_ID,
    rent_exempt_minimum,
)
from engine.frt.emulator import FrtEmulator
from engine.frt.pda import find_main_treasury
from engine.frt.spl import NATIVE_MINT
from engine.frt.state import MainTreasuryState, Mint, TokenAccount
from engine.sandbox import make_world
from engine.wallet import Wallet

X, Y = 10**9, 10**6
TREASURY_ADMIN_CU = CU_LIMITS["admin"]


async def _send(world, instructions, payer, signers=()):
    return await world.client.sender.send(list(instructions), payer, list(signers))


def _deposit_ix(world, user, mint, amount, *, lp_account=None):
    lp_mint = world.lp(mint)
    return ix.deposit(world.client.program_id, user.pubkey, world.pool, mint, amount,
                      world.ata(user, mint), lp_account or world.ata(user, lp_mint))


def _with_account(instruction: Instruction, index: int, meta: AccountMeta) -> Instruction:
    accounts = list(instruction.accounts)
    accounts[index] = meta
    return Instruction(instruction.program_id, bytes(instruction.data), accounts)


async def _deposit(world, user, instruction):
    return await _send(world, [ix.compute_unit_limit(CU_LIMITS["deposit"]), instruction], user)


# ---- the treasury paying itself ---------------------------------------------------------------

async def test_treasury_withdrawal_into_the_treasury_itself_leaves_its_lamports_unchanged():
    # treasury.rs:227-228: `**main_treasury_pda.lamports -= w; **destination.lamports += w` on
    # one account (a duplicated account is one AccountInfo) is a net zero; treasury.rs:231-233
    # still counts the withdrawal and re-reads the (unchanged) balance.
    world = await make_world()
    program = world.client.program_id
    treasury = find_main_treasury(program)[0]
    before = world.ledger.get_account(treasury)
    state_before = MainTreasuryState.decode(bytes(before.data))

    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU),
                                 ix.withdraw_treasury_fees(program, world.core.pubkey, treasury, X // 10)],
                         world.core)

    assert result.ok, result.error
    after = world.ledger.get_account(treasury)
    assert after.lamports == before.lamports
    state = MainTreasuryState.decode(bytes(after.data))
    assert state.treasury_withdrawal_count == state_before.treasury_withdrawal_count + 1
    assert state.total_balance == before.lamports


async def test_treasury_withdrawal_with_a_wrong_rent_sysvar_is_invalid_argument():
    # treasury.rs:144: `Rent::from_account_info(rent_sysvar_account)?` -> InvalidArgument.
    world = await make_world()
    program = world.client.program_id
    instruction = ix.withdraw_treasury_fees(program, world.core.pubkey, world.core.pubkey, X // 10)
    instruction = _with_account(instruction, 2, AccountMeta(SYSTEM_PROGRAM_ID, False, False))
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), instruction], world.core)
    assert result.error.name == "InvalidArgument"


async def test_a_sysvar_marked_writable_is_read_only_so_it_cannot_receive_a_withdrawal():
    # treasury.rs:97 `validate_writable(destination_account)` sees the account as the runtime
    # does: a reserved account (sysvar, builtin program) is demoted to read-only whatever the
    # message header says (agave SanitizedMessage::is_writable / ReservedAccountKeys).
    world = await make_world()
    program = world.client.program_id
    instruction = ix.withdraw_treasury_fees(program, world.core.pubkey, world.core.pubkey, X // 10)
    rent = instruction.accounts[2].pubkey
    instruction = _with_account(instruction, 3, AccountMeta(rent, False, True))
    before = world.ledger.get_account(rent).lamports
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), instruction], world.core)
    assert result.error.name == "InvalidAccountData"
    assert world.ledger.get_account(rent).lamports == before


async def test_initialize_program_checks_the_rent_sysvar_first():
    # system.rs:80: the rent sysvar is read before the upgrade authority and the
    # already-initialised check (system.rs:90, 104).
    world = await make_world()
    program = world.client.program_id
    instruction = ix.initialize_program(program, world.core.pubkey, world.core.pubkey)
    instruction = _with_account(instruction, 2, AccountMeta(SYSTEM_PROGRAM_ID, False, False))
    result = await _send(world, [ix.compute_unit_limit(CU_LIMITS["initialize_program"]), instruction], world.core)
    assert result.error.name == "InvalidArgument"


# ---- the user's LP account ----------------------------------------------------------------------

async def test_deposit_into_an_lp_account_with_an_active_delegate_is_4001():
    # liquidity.rs:273-285: the LP account is unpacked with check_delegate = true
    # (token_validation.rs:50-59 rejects delegated_amount > 0); any error there only marks it
    # missing, and liquidity.rs:349-354 answers Custom(4001).
    world = await make_world()
    user = await world.user(x=10 * X)
    spender = Wallet.generate()
    lp_account = world.ata(user, world.lp(world.mint_x))
    assert (await world.client.deposit(user, world.pool, world.mint_x, X)).ok
    assert (await _send(world, [approve(ApproveParams(
        program_id=TOKEN_PROGRAM_ID, source=lp_account, delegate=spender.pubkey, owner=user.pubkey, amount=5))],
        user)).ok

    result = await world.client.deposit(user, world.pool, world.mint_x, X)

    assert (result.error.code, result.error.category) == (4001, "unexpected")


async def test_deposit_with_a_frozen_token_account_of_another_mint_in_the_lp_slot_is_4001():
    # token_validation.rs:41-47 refuses a frozen account; in the LP slot that error becomes
    # Custom(4001) (liquidity.rs:281-284, 354), not the InvalidAccountData it is elsewhere.
    world = await make_world()
    user = await world.user(x=10 * X)
    freezable = Wallet.generate()
    assert (await _send(world, [
        create_account(CreateAccountParams(from_pubkey=world.core.pubkey, to_pubkey=freezable.pubkey,
                                           lamports=rent_exempt_minimum(MINT_SIZE), space=MINT_SIZE,
                                           owner=TOKEN_PROGRAM_ID)),
        initialize_mint2(InitializeMint2Params(program_id=TOKEN_PROGRAM_ID, mint=freezable.pubkey, decimals=0,
                                               mint_authority=world.core.pubkey,
                                               freeze_authority=world.core.pubkey)),
        create_idempotent_associated_token_account(world.core.pubkey, user.pubkey, freezable.pubkey),
    ], world.core, [freezable])).ok
    foreign = token_address(user.pubkey, freezable.pubkey)
    assert (await _send(world, [freeze_account(FreezeAccountParams(
        program_id=TOKEN_PROGRAM_ID, account=foreign, mint=freezable.pubkey, authority=world.core.pubkey))],
        world.core)).ok

    result = await _deposit(world, user, _deposit_ix(world, user, world.mint_x, X, lp_account=foreign))

    assert result.error.code == 4001


# ---- short account data: the unpack panics ------------------------------------------------------

def _short_token_account(world, key: Pubkey, size: int = 100) -> None:
    world.ledger.svm.set_account(key, Account(rent_exempt_minimum(size), bytes(size), TOKEN_PROGRAM_ID, False, 0))


async def test_a_short_token_account_in_the_input_slot_makes_the_program_panic():
    # token_validation.rs:33: `TokenAccount::unpack_from_slice` starts with
    # `array_ref![src, 0, 165]`, which panics on a shorter slice: ProgramFailedToComplete.
    world = await make_world()
    user = await world.user(x=10 * X)
    short = Pubkey.new_unique()
    _short_token_account(world, short)
    instruction = _with_account(_deposit_ix(world, user, world.mint_x, X), 7, AccountMeta(short, False, True))
    result = await _deposit(world, user, instruction)
    assert result.error.name == "ProgramFailedToComplete"


async def test_a_short_token_account_in_the_lp_slot_panics_rather_than_4001():
    # liquidity.rs:273: the panic inside safe_unpack_and_validate_token_account is not an
    # Err the `match` could turn into "missing" (4001).
    world = await make_world()
    user = await world.user(x=10 * X)
    short = Pubkey.new_unique()
    _short_token_account(world, short)
    result = await _deposit(world, user, _deposit_ix(world, user, world.mint_x, X, lp_account=short))
    assert result.error.name == "ProgramFailedToComplete"


async def test_a_short_mint_account_in_a_swap_panics():
    # swap.rs:325: `Mint::unpack_from_slice(&input_mint_account.data)`: array_ref! on 82 bytes.
    # The mint accounts are compared by key first (swap.rs:310), so the real mint's data is cut.
    world = await make_world()
    lp = await world.user(y=100 * Y)
    trader = await world.user(x=X)
    assert (await world.client.deposit(lp, world.pool, world.mint_y, 100 * Y)).ok
    mint = world.ledger.get_account(world.mint_x)
    world.ledger.svm.set_account(world.mint_x, Account(mint.lamports, bytes(mint.data)[:40], TOKEN_PROGRAM_ID, False, 0))
    result = await world.client.swap(trader, world.pool, world.mint_x, 1000, 160)
    assert result.error.name == "ProgramFailedToComplete"


# ---- account counts ---------------------------------------------------------------------------

async def test_update_pool_fees_with_three_accounts_is_not_enough_account_keys():
    # pool.rs:916-919: the accounts are taken with `next_account_info(...)?`, which returns
    # NotEnoughAccountKeys (no panic).
    world = await make_world()
    instruction = ix.update_pool_fees(world.client.program_id, world.core.pubkey, world.pool.pool_state, 1,
                                      2_000_000, 0)
    instruction = Instruction(instruction.program_id, bytes(instruction.data), list(instruction.accounts)[:3])
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), instruction], world.core)
    assert result.error.name == "NotEnoughAccountKeys"


async def test_get_pool_info_with_three_accounts_panics_and_sol_balance_reads_any_account():
    # utilities.rs:182-185: GetPoolInfo indexes accounts [0] to [3] (fewer: a panic);
    # utilities.rs:366-385: GetPoolSolBalance logs the first account's lamports, no checks.
    world = await make_world()
    program = world.client.program_id
    info = ix.get_pool_info(program, world.pool.pool_state)
    info = Instruction(info.program_id, bytes(info.data), list(info.accounts)[:3])
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), info], world.core)
    assert result.error.name == "ProgramFailedToComplete"
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU),
                                 ix.get_pool_sol_balance(program, world.core.pubkey)], world.core)
    assert result.ok, result.error


async def test_get_fee_info_without_accounts_is_not_enough_account_keys():
    # utilities.rs:310: `next_account_info(account_info_iter)?`.
    world = await make_world()
    view = ix.get_fee_info(world.client.program_id, world.pool.pool_state)
    view = Instruction(view.program_id, bytes(view.data), [])
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), view], world.core)
    assert result.error.name == "NotEnoughAccountKeys"


# ---- the programs FRT calls -------------------------------------------------------------------

async def test_deposit_with_a_wrong_token_program_account_is_incorrect_program_id():
    # liquidity.rs:411-419: `token_instruction::transfer(spl_token_program_account.key, ..)?`
    # refuses any other program id (spl-token `check_program_account`): IncorrectProgramId.
    world = await make_world()
    user = await world.user(x=10 * X)
    bogus = Pubkey.new_unique()
    instruction = _with_account(_deposit_ix(world, user, world.mint_x, X), 4, AccountMeta(bogus, False, False))
    result = await _deposit(world, user, instruction)
    assert result.error.name == "IncorrectProgramId"
    assert await world.balance(user, world.lp(world.mint_x)) == 0


async def test_deposit_without_the_system_program_among_its_accounts_is_missing_account():
    # fee_validation.rs:246-257 invokes `system_instruction::transfer`; the runtime finds the
    # callee among the caller's instruction accounts or answers "Unknown program"
    # (MissingAccount). SIMD-0163, which would have lifted this, was rescinded (agave #6828).
    world = await make_world()
    user = await world.user(x=10 * X)
    instruction = _with_account(_deposit_ix(world, user, world.mint_x, X), 1,
                                AccountMeta(Pubkey.new_unique(), False, False))
    result = await _deposit(world, user, instruction)
    assert result.error.name == "MissingAccount"


async def test_a_vault_for_the_native_mint_is_native_and_carries_the_deposited_lamports():
    # pool.rs:444-458 initialises each vault with SPL Token InitializeAccount, which makes an
    # account of the native mint native (is_native = its rent-exempt reserve); a Transfer from
    # a native account moves the lamports with the amount.
    world = await make_world()
    native_mint = Mint.decode(bytes(world.ledger.get_account(NATIVE_MINT).data))  # as on every validator
    assert (native_mint.decimals, native_mint.supply, native_mint.mint_authority) == (9, 0, None)
    ratio_x, ratio_y = model.ratio_from_human(160, 9, 6, "a_to_b")
    created = await world.client.create_pool(world.core, NATIVE_MINT, world.mint_y, ratio_x, ratio_y)
    assert created.result.ok, created.result.error
    pool = created.addresses
    vault = pool.vault_for(NATIVE_MINT)
    reserve = rent_exempt_minimum(TOKEN_ACCOUNT_SIZE)
    state = TokenAccount.decode(bytes(world.ledger.get_account(vault).data))
    assert (state.is_native, state.amount) == (reserve, 0)

    user = Wallet.generate()
    await world.cluster.airdrop(user.pubkey, 5 * X)
    await world.client.ensure_lp_accounts(world.core, user.pubkey, pool)
    wrapped = token_address(user.pubkey, NATIVE_MINT)
    assert (await _send(world, [transfer(TransferParams(from_pubkey=user.pubkey, to_pubkey=wrapped, lamports=2 * X)),
                                sync_native(SyncNativeParams(program_id=TOKEN_PROGRAM_ID, account=wrapped))],
                        user)).ok
    wrapped_before = world.ledger.get_account(wrapped).lamports

    result = await world.client.deposit(user, pool, NATIVE_MINT, X)

    assert result.ok, result.error
    assert world.ledger.get_account(vault).lamports == reserve + X
    assert world.ledger.get_account(wrapped).lamports == wrapped_before - X
    assert TokenAccount.decode(bytes(world.ledger.get_account(vault).data)).amount == X


# ---- the runtime's rules around a misbehaving emulated instruction ------------------------------

class _Misbehaving(FrtEmulator):
    """DonateSol (accounts: donor signer+writable, treasury writable, system state, system
    program) replaced by one wrong thing a program might try."""

    def __init__(self, program_id, deed):
        super().__init__(program_id)
        self.deed = deed

    def _donate_sol(self, inv, amount, message):
        self.deed(self, inv, amount)


def _lamports_from_nothing(emulator, inv, amount):
    account = inv.env.get(emulator.treasury_key)
    inv.env.put(emulator.treasury_key, Account(account.lamports + amount, account.data, account.owner, False, 0))


def _debit_the_donor_directly(emulator, inv, amount):
    inv.move_lamports(inv.key(0), emulator.treasury_key, amount)  # the donor belongs to System


def _write_the_read_only_system_state(emulator, inv, amount):
    data = bytearray(inv.data(2))
    data[0] ^= 1
    inv.write_data(inv.key(2), bytes(data))


def _transfer_from_a_non_signer(emulator, inv, amount):
    inv.system_transfer(inv.key(1), inv.key(0), amount)  # the treasury does not sign


def _transfer_into_a_read_only_account(emulator, inv, amount):
    inv.system_transfer(inv.key(0), inv.key(2), amount)  # the system state is read-only


def _transfer_to_an_account_not_passed(emulator, inv, amount):
    inv.system_transfer(inv.key(0), Pubkey.new_unique(), amount)


def _make_the_donor_executable(emulator, inv, amount):
    donor = inv.env.get(inv.key(0))
    inv.env.put(inv.key(0), Account(donor.lamports, donor.data, donor.owner, True, donor.rent_epoch))


async def _donate_with(deed, *, lamports=2 * X):
    world = await make_world(ledger=EmbeddedLedger(LOCALNET_PROGRAM_ID,
                                                   emulator_factory=lambda program_id: _Misbehaving(program_id, deed)))
    donor = await world.user(lamports=lamports)
    treasury = find_main_treasury(world.client.program_id)[0]
    before = world.ledger.get_account(treasury).lamports
    result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU),
                                 ix.donate_sol(world.client.program_id, donor.pubkey, X // 10, "x")], donor)
    return result, world.ledger.get_account(treasury).lamports - before


async def test_lamports_created_from_nothing_are_an_unbalanced_instruction():
    # agave InvokeContext::pop: the lamports of an instruction's accounts sum to what they did.
    result, gained = await _donate_with(_lamports_from_nothing)
    assert (result.error.name, result.error.instruction_index, gained) == ("UnbalancedInstruction", 1, 0)


async def test_debiting_an_account_the_program_does_not_own_is_external_account_lamport_spend():
    # agave BorrowedAccount::set_lamports: only the owner may decrease a balance.
    result, gained = await _donate_with(_debit_the_donor_directly)
    assert (result.error.name, gained) == ("ExternalAccountLamportSpend", 0)


async def test_writing_a_read_only_account_is_read_only_data_modified():
    # agave BorrowedAccount::can_data_be_changed: not writable -> ReadonlyDataModified.
    result, _ = await _donate_with(_write_the_read_only_system_state)
    assert result.error.name == "ReadonlyDataModified"


async def test_setting_the_executable_flag_of_an_account_the_program_does_not_own_is_executable_modified():
    # agave BorrowedAccount::set_executable: only the owner, on a writable account.
    result, _ = await _donate_with(_make_the_donor_executable)
    assert result.error.name == "ExecutableModified"


async def test_a_cpi_signed_for_an_account_that_did_not_sign_is_privilege_escalation():
    # agave prepare_next_instruction: a callee signer must sign in the caller (or be the
    # caller's PDA, signed with seeds).
    result, gained = await _donate_with(_transfer_from_a_non_signer)
    assert (result.error.name, gained) == ("PrivilegeEscalation", 0)


async def test_a_cpi_writing_a_read_only_account_is_privilege_escalation():
    result, _ = await _donate_with(_transfer_into_a_read_only_account)
    assert result.error.name == "PrivilegeEscalation"


async def test_a_cpi_naming_an_account_the_instruction_lacks_is_missing_account():
    result, _ = await _donate_with(_transfer_to_an_account_not_passed)
    assert result.error.name == "MissingAccount"


async def test_a_token_account_written_by_frt_itself_is_external_account_data_modified():
    # agave BorrowedAccount::can_data_be_changed: only the owner (SPL Token) may change the
    # data of a token account; FRT must go through a Transfer.
    class Skimming(FrtEmulator):
        def _deposit(self, inv, deposit_token_mint, amount, pool_id):
            inv.patch_u64(inv.key(7), 64, 0)

    world = await make_world(ledger=EmbeddedLedger(LOCALNET_PROGRAM_ID, emulator_factory=Skimming))
    user = await world.user(x=10 * X)
    result = await world.client.deposit(user, world.pool, world.mint_x, X)
    assert result.error.name == "ExternalAccountDataModified"
    assert await world.balance(user, world.mint_x) == 10 * X


async def test_the_transaction_level_balance_check_catches_what_an_instruction_check_missed(monkeypatch):
    # agave execute_loaded_transaction: the sum over the transaction's accounts is checked
    # again after the rent-state check (UnbalancedTransaction).
    monkeypatch.setattr(RuntimeFrames, "finish", lambda self: None)
    result, gained = await _donate_with(_lamports_from_nothing)
    assert (result.error.name, gained) == ("UnbalancedTransaction", 0)


# ---- the views' pool checks -----------------------------------------------------------------

def _pool_copy(world, owner: Pubkey, data: bytes) -> Pubkey:
    """A new account holding `data` (a pool's bytes, changed or not), owned by `owner`."""
    key = Wallet.generate().pubkey
    world.ledger.svm.set_account(key, Account(rent_exempt_minimum(len(data)), data, owner, False, 0))
    return key


def _view(world, instruction: Instruction, account: Pubkey) -> Instruction:
    index = 2 if len(instruction.accounts) > 1 else 0
    return _with_account(instruction, index, AccountMeta(account, False, False))


async def test_pool_pause_status_reads_any_account_that_deserializes_exactly_as_a_pool():
    # utilities.rs:239-240: `PoolState::try_from_slice(&pool_state_account.data.borrow())?` on
    # accounts[0]: no owner check (a copy owned by anyone answers); trailing or missing bytes
    # fail as BorshIoError (try_from_slice reads the whole slice).
    world = await make_world()
    program = world.client.program_id
    pool_bytes = bytes(world.ledger.get_account(world.pool.pool_state).data)
    status = ix.get_pool_pause_status(program, world.pool.pool_state)
    for owner, data, error in ((SYSTEM_PROGRAM_ID, pool_bytes, None), (program, pool_bytes + bytes(1), "BorshIoError"),
                               (program, pool_bytes[:-1], "BorshIoError")):
        copy = _pool_copy(world, owner, data)
        result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), _view(world, status, copy)], world.core)
        assert (result.error.name if result.error else None) == error, (owner, len(data))


async def test_pool_info_views_refuse_a_pool_without_mints_or_ratio_as_invalid_account_data():
    # utilities.rs:187, 275, 313 -> validation.rs:225-240: after the owner and the decode, a
    # default token mint or a zero ratio is InvalidAccountData.
    from dataclasses import replace

    from engine.frt.state import PoolState

    world = await make_world()
    program = world.client.program_id
    pool = PoolState.decode(bytes(world.ledger.get_account(world.pool.pool_state).data))
    broken = _pool_copy(world, program, replace(pool, ratio_b_denominator=0).encode())
    for view in (ix.get_pool_info(program, world.pool.pool_state), ix.get_liquidity_info(program, world.pool.pool_state),
                 ix.get_fee_info(program, world.pool.pool_state)):
        result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), _view(world, view, broken)], world.core)
        assert result.error is not None and result.error.name == "InvalidAccountData", view
        result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), view], world.core)
        assert result.ok, result.error


async def test_consolidation_status_validates_each_pool_and_slices_the_accounts_it_is_told():
    # lib.rs:332-334: `&accounts[..pool_count as usize]` (more than passed: a panic);
    # consolidation.rs:467: validate_and_deserialize_pool_state_secure for each (a token
    # account is not owned by the program: IncorrectProgramId).
    world = await make_world()
    program = world.client.program_id

    async def status(pools, pool_count=None):
        view = ix.get_consolidation_status(program, pools)
        if pool_count is not None:
            view = Instruction(view.program_id, bytes(view.data[:1]) + bytes([pool_count]), list(view.accounts))
        result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), view], world.core)
        return result.error.name if result.error else None

    assert await status([world.pool.pool_state]) is None
    assert await status([world.pool.pool_state], pool_count=2) == "ProgramFailedToComplete"
    assert await status([world.pool.pool_state, world.ata(world.core, world.mint_x)]) == "IncorrectProgramId"


async def test_no_instruction_with_any_accounts_escapes_the_emulator_as_a_python_exception():
    """Every FRT instruction, decodable data, 0-13 accounts drawn from the pool's, the program's
    and strangers' (seeded): each answers as a chain would (success or a program error), none
    raises out of the ledger. (GetConsolidationStatus on a non-pool account raised ValueError.)"""
    import random

    from engine.frt.pda import find_system_state

    world = await make_world()
    program, pool, rng = world.client.program_id, world.pool, random.Random(5)
    candidates = [pool.pool_state, pool.token_a_vault, pool.token_b_vault, pool.lp_token_a_mint,
                  pool.lp_token_b_mint, pool.token_a_mint, pool.token_b_mint, find_system_state(program)[0],
                  find_main_treasury(program)[0], SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID, world.core.pubkey,
                  world.ata(world.core, pool.token_a_mint), Wallet.generate().pubkey,
                  Pubkey.from_string("SysvarRent111111111111111111111111111111111"), program]
    draw = {"pubkey": lambda: rng.choice(candidates), "u64": lambda: rng.choice([0, 1, 10**6, 2**64 - 1]),
            "u8": lambda: rng.choice([0, 1, 2, 3, 255]), "bool": lambda: rng.random() < 0.5, "string": lambda: "x"}
    answered = set()
    for _ in range(600):
        tag = rng.randrange(len(ix.INSTRUCTION_NAMES))
        name, layout = ix._LAYOUTS[tag]
        data = ix.encode_instruction_data(name, **{field: draw[kind]() for field, kind in layout})
        keys = [rng.choice(candidates) for _ in range(rng.randrange(14))]
        metas = [AccountMeta(key, key == world.core.pubkey and rng.random() < 0.7, rng.random() < 0.6) for key in keys]
        result = await _send(world, [ix.compute_unit_limit(TREASURY_ADMIN_CU), Instruction(program, data, metas)],
                             world.core)
        answered.add((name, result.error.name if result.error else "ok"))
    assert len({name for name, _ in answered}) == len(ix.INSTRUCTION_NAMES)  # every instruction was sent
