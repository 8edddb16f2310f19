"""The FRT v0.17 emulator on the embedded chain, through real signed transactions."""
from __future__ import annotations

from solders.message import Message
from solders.transaction import Transaction
from spl.token.instructions import create_idempotent_associated_token_account

from engine.frt import instructions as ix
from engine.frt.constants import (
    CU_LIMITS, DEFAULT_LIQUIDITY_FEE, DEFAULT_SWAP_FEE, FLAG_EXACT_EXCHANGE_REQUIRED, FLAG_SIMPLE_RATIO,
    LAMPORTS_PER_SIGNATURE, REGISTRATION_FEE,
)
from engine.frt.pda import find_main_treasury
from engine.wallet import Wallet
from engine.sandbox import make_world

TX_FEE = LAMPORTS_PER_SIGNATURE
X, Y = 10**9, 10**6  # one whole token of each


async def test_pool_creation_costs_exactly_what_the_contract_charges():
    world = await make_world()
    creator = await world.user(lamports=2 * X)
    _, mint_p = await world.client.create_mint(world.core, 0)
    _, mint_q = await world.client.create_mint(world.core, 0)
    treasury = find_main_treasury(world.client.program_id)[0]
    treasury_before = await world.cluster.get_balance(treasury)
    before = await world.cluster.get_balance(creator.pubkey)

    created = await world.client.create_pool(creator, mint_p, mint_q, 1, 3)

    assert created.result.ok, created.result.error
    assert before - await world.cluster.get_balance(creator.pubkey) == 1_160_941_120 + TX_FEE
    assert await world.cluster.get_balance(treasury) - treasury_before == REGISTRATION_FEE
    pool = created.addresses
    assert await world.cluster.get_balance(pool.pool_state) == 3_939_360
    assert await world.cluster.get_balance(pool.token_a_vault) == 2_039_280
    assert await world.cluster.get_balance(pool.lp_token_b_mint) == 1_461_600
    state = await world.client.pool_state(pool.pool_state)
    assert state.owner == creator.pubkey
    assert state.flags == FLAG_SIMPLE_RATIO
    assert (state.contract_liquidity_fee, state.swap_contract_fee) == (DEFAULT_LIQUIDITY_FEE, DEFAULT_SWAP_FEE)
    assert (state.ratio_a_numerator, state.ratio_b_denominator) == (pool.ratio_a, pool.ratio_b)


async def test_same_pair_and_ratio_twice_is_already_initialized():
    world = await make_world()
    again = await world.client.create_pool(world.core, world.mint_x, world.mint_y, *_ratio(world))
    assert not again.result.ok and again.result.error.name == "AccountAlreadyInitialized"


async def test_engineering_ratio_is_rejected_with_1049():
    world = await make_world()
    created = await world.client.create_pool(world.core, world.mint_x, world.mint_y, 2 * X, 3 * Y)
    assert created.result.error.code == 1049


async def test_deposit_mints_lp_one_to_one_and_charges_the_liquidity_fee():
    world = await make_world()
    user = await world.user(x=50 * X)
    sol_before = await world.cluster.get_balance(user.pubkey)
    pool_lamports = await world.cluster.get_balance(world.pool.pool_state)

    result = await world.client.deposit(user, world.pool, world.mint_x, 7 * X)

    assert result.ok, result.error
    assert await world.balance(user, world.mint_x) == 43 * X
    assert await world.balance(user, world.lp(world.mint_x)) == 7 * X
    assert await world.client.token_balance(world.pool.pool_state, world.mint_x) == 0  # vault is a PDA account
    assert await world.cluster.get_token_balance(world.pool.vault_for(world.mint_x)) == 7 * X
    lp_mint = await world.client.mint_info(world.lp(world.mint_x))
    assert lp_mint.supply == 7 * X and lp_mint.decimals == 9
    assert sol_before - await world.cluster.get_balance(user.pubkey) == DEFAULT_LIQUIDITY_FEE + TX_FEE
    assert await world.cluster.get_balance(world.pool.pool_state) - pool_lamports == DEFAULT_LIQUIDITY_FEE
    state = await world.pool_state()
    side = state.total_token_a_liquidity if world.pool.token_a_mint == world.mint_x else state.total_token_b_liquidity
    assert side == 7 * X
    assert state.collected_liquidity_fees == state.total_sol_fees_collected == DEFAULT_LIQUIDITY_FEE


async def test_withdraw_burns_lp_and_returns_the_same_amount():
    world = await make_world()
    user = await world.user(y=900 * Y)
    assert (await world.client.deposit(user, world.pool, world.mint_y, 500 * Y)).ok

    result = await world.client.withdraw(user, world.pool, world.mint_y, 200 * Y)

    assert result.ok, result.error
    assert await world.balance(user, world.mint_y) == 600 * Y
    assert await world.balance(user, world.lp(world.mint_y)) == 300 * Y
    assert (await world.client.mint_info(world.lp(world.mint_y))).supply == 300 * Y
    state = await world.pool_state()
    assert state.total_sol_fees_collected == 2 * DEFAULT_LIQUIDITY_FEE


async def test_withdraw_beyond_the_vault_fails_in_spl_token_and_changes_nothing_but_the_fee():
    world = await make_world()
    depositor = await world.user(y=100 * Y)
    swapper = await world.user(x=10 * X)
    assert (await world.client.deposit(depositor, world.pool, world.mint_y, 100 * Y)).ok
    assert (await world.client.swap(swapper, world.pool, world.mint_x, X // 2, 80 * Y)).ok  # drains 80 Y
    state_before = await world.pool_state()
    sol_before = await world.cluster.get_balance(depositor.pubkey)

    result = await world.client.withdraw(depositor, world.pool, world.mint_y, 100 * Y)

    assert not result.ok
    assert (result.error.program, result.error.code, result.error.category) == ("spl-token", 1, "expected")
    assert await world.pool_state() == state_before
    assert await world.balance(depositor, world.lp(world.mint_y)) == 100 * Y
    assert sol_before - await world.cluster.get_balance(depositor.pubkey) == TX_FEE


async def test_swap_pays_the_exact_floor_output_in_both_directions():
    world = await make_world()
    lp = await world.user(x=100 * X, y=10_000 * Y)
    trader = await world.user(x=10 * X, y=1_000 * Y)
    assert (await world.client.deposit(lp, world.pool, world.mint_x, 100 * X)).ok
    assert (await world.client.deposit(lp, world.pool, world.mint_y, 10_000 * Y)).ok
    sol_before = await world.cluster.get_balance(trader.pubkey)

    assert (await world.client.swap(trader, world.pool, world.mint_x, 500_000_000, 80_000_000)).ok
    assert (await world.client.swap(trader, world.pool, world.mint_y, 3, 18)).ok  # 18.75 floored

    assert await world.balance(trader, world.mint_x) == 10 * X - 500_000_000 + 18
    assert await world.balance(trader, world.mint_y) == 1_000 * Y + 80_000_000 - 3
    assert sol_before - await world.cluster.get_balance(trader.pubkey) == 2 * (DEFAULT_SWAP_FEE + TX_FEE)
    state = await world.pool_state()
    assert state.collected_swap_contract_fees == 2 * DEFAULT_SWAP_FEE


async def test_swap_with_a_wrong_expectation_fails_with_1047():
    world = await make_world()
    lp = await world.user(y=1_000 * Y)
    trader = await world.user(x=10 * X)
    assert (await world.client.deposit(lp, world.pool, world.mint_y, 1_000 * Y)).ok
    result = await world.client.swap(trader, world.pool, world.mint_x, 500_000_000, 80_000_001)
    assert result.error.code == 1047 and result.error.category == "unexpected"
    assert await world.balance(trader, world.mint_x) == 10 * X


async def test_swap_beyond_liquidity_is_insufficient_funds():
    world = await make_world()
    trader = await world.user(x=10 * X)
    result = await world.client.swap(trader, world.pool, world.mint_x, X, 160 * Y)
    assert (result.error.name, result.error.category) == ("InsufficientFunds", "expected")


async def test_dust_swap_with_zero_output_is_invalid_argument():
    world = await make_world()
    trader = await world.user(x=X)
    result = await world.client.swap(trader, world.pool, world.mint_x, 6, 0)  # 6 * 0.16 floors to 0
    assert result.error.name == "InvalidArgument"


async def test_exact_exchange_pool_rejects_a_remainder_with_1047():
    world = await make_world(flags=FLAG_EXACT_EXCHANGE_REQUIRED)
    trader = await world.user(x=X)
    result = await world.client.swap(trader, world.pool, world.mint_x, 1_234_567, 197_530)
    assert result.error.code == 1047


async def _admin_send(world, instruction):
    return await world.client.sender.send([ix.compute_unit_limit(CU_LIMITS["admin"]), instruction], world.core)


async def test_pause_flags_block_liquidity_with_1035_and_swaps_with_1027():
    world = await make_world()
    user = await world.user(x=10 * X, y=100 * Y)
    program = world.client.program_id
    assert (await _admin_send(world, ix.pause_pool(program, world.core.pubkey, world.pool.pool_state, 1))).ok
    assert (await world.client.deposit(user, world.pool, world.mint_x, X)).error.code == 1035
    assert (await world.client.withdraw(user, world.pool, world.mint_x, X)).error.code == 1035
    assert (await world.client.deposit(user, world.pool, world.mint_y, Y)).error.code == 1035

    assert (await _admin_send(world, ix.pause_pool(program, world.core.pubkey, world.pool.pool_state, 2))).ok
    assert (await world.client.swap(user, world.pool, world.mint_y, Y, 6_250_000)).error.code == 1027

    assert (await _admin_send(world, ix.unpause_pool(program, world.core.pubkey, world.pool.pool_state, 3))).ok
    assert (await world.client.deposit(user, world.pool, world.mint_y, Y)).ok
    state = await world.pool_state()
    assert not state.liquidity_paused and not state.swaps_paused


async def test_owner_only_pool_lets_only_the_owner_swap():
    world = await make_world()
    owner = await world.user(x=X)
    other = await world.user(x=X)
    lp = await world.user(y=100 * Y)
    assert (await world.client.deposit(lp, world.pool, world.mint_y, 100 * Y)).ok
    program = world.client.program_id
    assert (await _admin_send(world, ix.set_swap_owner_only(
        program, world.core.pubkey, world.pool.pool_state, True, owner.pubkey))).ok

    assert (await world.client.swap(other, world.pool, world.mint_x, 1000, 160)).error.code == 1028
    assert (await world.client.swap(owner, world.pool, world.mint_x, 1000, 160)).ok
    assert (await world.pool_state()).owner == owner.pubkey


async def test_admin_check_bypass_lets_any_signer_pause_a_pool():
    """§13 #1: with no loader-owned ProgramData, the upgrade-authority fallback accepts anyone."""
    world = await make_world()
    stranger = await world.user()
    instruction = ix.pause_pool(world.client.program_id, stranger.pubkey, world.pool.pool_state, 1,
                                program_data=stranger.pubkey)
    result = await world.client.sender.send([ix.compute_unit_limit(CU_LIMITS["admin"]), instruction], stranger)
    assert result.ok and (await world.pool_state()).liquidity_paused


async def test_duplicate_transaction_is_rejected_without_a_second_effect():
    world = await make_world()
    user = await world.user(x=10 * X)
    blockhash, _ = await world.cluster.get_latest_blockhash()
    instructions = [ix.compute_unit_limit(CU_LIMITS["deposit"]),
                    ix.deposit(world.client.program_id, user.pubkey, world.pool, world.mint_x, X,
                               world.ata(user, world.mint_x), world.ata(user, world.lp(world.mint_x)))]
    tx = world.client.sender.sign(instructions, user, [], blockhash)
    first = await world.cluster.send_transaction(tx)
    second = await world.cluster.send_transaction(tx)
    assert first.ok
    assert (second.ok, second.error.name, second.error.category) == (False, "AlreadyProcessed", "transient")
    assert await world.balance(user, world.lp(world.mint_x)) == X


async def test_bad_signature_is_rejected_and_charges_nothing():
    world = await make_world()
    user = await world.user(x=10 * X)
    blockhash, _ = await world.cluster.get_latest_blockhash()
    message = Message.new_with_blockhash(
        [ix.compute_unit_limit(CU_LIMITS["deposit"]),
         ix.deposit(world.client.program_id, user.pubkey, world.pool, world.mint_x, X,
                    world.ata(user, world.mint_x), world.ata(user, world.lp(world.mint_x)))],
        user.pubkey, blockhash)
    forged = Transaction.populate(message, [Wallet.generate().keypair.sign_message(bytes(message))])
    sol_before = await world.cluster.get_balance(user.pubkey)
    result = await world.cluster.send_transaction(forged)
    assert result.error.name == "SignatureFailure"
    assert await world.cluster.get_balance(user.pubkey) == sol_before
    assert await world.balance(user, world.lp(world.mint_x)) == 0


async def test_missing_compute_budget_exceeds_the_default_limit():
    world = await make_world()
    user = await world.user(x=10 * X)
    deposit = ix.deposit(world.client.program_id, user.pubkey, world.pool, world.mint_x, X,
                         world.ata(user, world.mint_x), world.ata(user, world.lp(world.mint_x)))
    result = await world.client.sender.send([deposit], user)
    assert (result.error.name, result.error.category) == ("ComputationalBudgetExceeded", "unexpected")


async def test_failed_instruction_rolls_back_the_whole_transaction():
    """An ATA created by instruction 1 disappears when the deposit in instruction 2 fails."""
    world = await make_world()
    user = await world.user(x=X)
    _, extra_mint = await world.client.create_mint(world.core, 3)  # the user has no account for it yet
    instructions = [ix.compute_unit_limit(CU_LIMITS["deposit"]),
                    create_idempotent_associated_token_account(user.pubkey, user.pubkey, extra_mint),
                    ix.deposit(world.client.program_id, user.pubkey, world.pool, world.mint_x, 2 * X,
                               world.ata(user, world.mint_x), world.ata(user, world.lp(world.mint_x)))]
    result = await world.client.sender.send(instructions, user)
    assert result.error.name == "InsufficientFunds" and result.error.instruction_index == 2
    assert await world.cluster.get_account(world.ata(user, extra_mint)) is None

    instructions[2] = ix.deposit(world.client.program_id, user.pubkey, world.pool, world.mint_x, X,
                                 world.ata(user, world.mint_x), world.ata(user, world.lp(world.mint_x)))
    result = await world.client.sender.send(instructions, user)
    assert result.ok, result.error
    assert await world.cluster.get_account(world.ata(user, extra_mint)) is not None


async def test_deposit_without_an_lp_account_is_4001():
    world = await make_world()
    user = Wallet.generate()
    await world.cluster.airdrop(user.pubkey, X)
    await world.client.create_token_accounts(world.core, user.pubkey, [world.mint_x])
    await world.client.mint_to(world.core, world.mint_x, user.pubkey, X)
    result = await world.client.deposit(user, world.pool, world.mint_x, X)
    assert (result.error.code, result.error.category) == (4001, "unexpected")


async def test_fee_payer_left_below_rent_is_insufficient_funds_for_rent():
    world = await make_world()
    user = await world.user(lamports=DEFAULT_LIQUIDITY_FEE + TX_FEE + 1_000, x=X)
    # The user paid for nothing else, so after the fee the wallet would hold 1,000 lamports.
    result = await world.client.deposit(user, world.pool, world.mint_x, X)
    assert result.error.name == "InsufficientFundsForRent"


async def test_consolidation_moves_pending_fees_to_the_treasury():
    world = await make_world()
    user = await world.user(x=10 * X, y=100 * Y)
    assert (await world.client.deposit(user, world.pool, world.mint_y, 100 * Y)).ok
    assert (await world.client.deposit(user, world.pool, world.mint_x, X)).ok
    for _ in range(3):
        assert (await world.client.swap(user, world.pool, world.mint_x, 1000, 160)).ok
    program = world.client.program_id
    assert (await _admin_send(world, ix.pause_pool(program, world.core.pubkey, world.pool.pool_state, 3))).ok
    treasury = find_main_treasury(program)[0]
    before = await world.cluster.get_balance(treasury)
    assert (await _admin_send(world, ix.consolidate_pool_fees(program, world.core.pubkey, [world.pool.pool_state]))).ok
    assert await world.cluster.get_balance(treasury) - before == 26_800_580  # the §7.4 worked example
    state = await world.pool_state()
    assert state.pending_sol_fees == 13_920


def _ratio(world):
    state_ratio = (world.pool.ratio_a, world.pool.ratio_b)
    return state_ratio if world.pool.token_a_mint == world.mint_x else state_ratio[::-1]

