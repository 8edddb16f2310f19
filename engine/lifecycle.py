"""A thread's lifecycle as operations: start, stop, step one cycle by hand, start or stop
many, delete — what each may do in which status, what it saves and what it answers. The
running itself (worker tasks, steppers, session files) is the Runner's."""
from __future__ import annotations

import asyncio
from contextlib import ExitStack

from engine.exceptions import ThreadInErrorState, ThreadRunning
from engine.threads import ERROR, RUNNING, STOPPED, set_status


async def start_thread(engine, thread_id: str, reason: str) -> dict:
    thread = engine.registry.thread(thread_id)
    if thread.status == RUNNING:
        return {"thread_id": thread_id, "status": RUNNING, "message": "already running"}
    await engine.runner.start(thread, reason)
    engine.save_threads()
    return {"thread_id": thread_id, "status": RUNNING}


async def stop_thread(engine, thread_id: str) -> dict:
    thread = engine.registry.thread(thread_id)
    if thread.status != RUNNING:
        return {"thread_id": thread_id, "status": thread.status, "message": f"not running ({thread.status})"}
    session_file = await engine.runner.stop(thread, "manual_stop")
    engine.save_threads()
    engine.recorder.dirty = True  # its session file holds the final figures; statistics.json follows on the next flush
    return {"thread_id": thread_id, "status": STOPPED, "session_file": session_file}


async def delete_thread(engine, thread_id: str) -> dict:
    """Only a thread that is not running; its wallet is retired (it keeps its tokens)."""
    thread = engine.registry.thread(thread_id)
    if thread.status == RUNNING:
        raise ThreadRunning(f"Cannot delete thread {thread_id}: it is running; stop it first")
    engine.registry.remove_thread(thread_id)
    engine.treasury.retire(thread)
    engine.save_engine_state()
    engine.runner.forget(thread_id)
    engine.recorder.forget(thread_id)
    engine.save_threads()
    engine.save_statistics()
    return {"thread_id": thread_id, "deleted": True}


async def run_cycle(engine, thread_id: str) -> dict:
    """Exactly one cycle of a thread that is not running (stepping, for tests and debugging)."""
    thread = engine.registry.thread(thread_id)
    if thread.status == RUNNING:
        raise ThreadRunning(f"Thread {thread_id} is running; stop it to step it by hand")
    if thread.status == ERROR:
        raise ThreadInErrorState(f"Cannot step thread {thread_id}: thread is in error state")
    outcome = await engine.runner.step(thread)
    engine.recorder.dirty = True
    if outcome is None:
        return {"thread_id": thread_id, "operation": None, "waiting_reason": thread.waiting_reason}
    return {"thread_id": thread_id, "operation": outcome.operation, "amount": outcome.amount,
            "ok": outcome.ok, "verdict": outcome.verdict, "error": outcome.error_name,
            "output": outcome.output, "findings": len(outcome.findings),
            "transaction_signature": outcome.result.signature}


async def start_all_threads(engine, pool_id: str | None) -> dict:
    started = [t for t in engine.registry.threads_of(pool_id) if t.status != RUNNING]
    await start_together(engine, started, "manual_start")
    engine.save_threads()
    return {"started": [t.thread_id for t in started], "count": len(started)}


async def stop_all_threads(engine, pool_id: str | None) -> dict:
    stopping = [t for t in engine.registry.threads_of(pool_id) if t.status == RUNNING]
    await asyncio.gather(*(engine.runner.stop(thread, "manual_stop") for thread in stopping))
    engine.save_threads()
    engine.save_statistics()
    return {"stopped": [t.thread_id for t in stopping], "count": len(stopping)}


async def after_restart(engine, *, crashed: bool = False) -> None:
    """Threads saved as running were stopped with the engine: they start again when the
    settings say so (a fresh session), else they are stopped. After a crash their sessions, which
    nothing closed, are closed now with the stop reason "crash" and the figures of the checkpoint
    the engine recovered to."""
    was_running = [thread for thread in engine.threads.values() if thread.status == RUNNING]
    for thread in was_running:
        set_status(thread, STOPPED)
        if crashed:
            await engine.runner.write_session(thread, "crash")
    if engine.settings.engine.resume_running_threads:
        await start_together(engine, was_running, "resumed_after_restart")


async def start_together(engine, threads, reason: str) -> None:
    """Start threads so that all of them have joined their pool's turns before any takes one."""
    with ExitStack() as stack:
        for pool_id in {thread.pool_id for thread in threads}:
            stack.enter_context(engine.pools[pool_id].turns.held())
        for thread in threads:
            await engine.runner.start(thread, reason)


async def before_shutdown(engine) -> None:
    """Stop every running thread (writing its session) and remember it as running, so that the
    next start resumes it."""
    was_running = [engine.threads[thread_id] for thread_id in engine.runner.running]
    await asyncio.gather(*(engine.runner.stop(thread, "engine_shutdown") for thread in was_running))
    for thread in was_running:
        set_status(thread, RUNNING)
