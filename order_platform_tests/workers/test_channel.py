"""The channel between the main process and a worker: whole messages, and never a stalled main process."""

from __future__ import annotations

import pickle
import struct
import threading

from order_platform.workers.channel import Channel, ChannelClosed


def test_messages_arrive_whole_and_in_order_however_large():
    main, theirs = Channel.pair()
    worker = Channel(theirs)
    big = "x" * 5_000_000  # larger than the socket buffer: the sender blocks until the reader takes it

    def send_all() -> None:
        for i in range(3):
            worker.send(("log", i))
        worker.send(("report", big))

    sender = threading.Thread(target=send_all)
    sender.start()
    received = []
    while len(received) < 4:
        message = main.receive()
        if message is not None:
            received.append(message)
    sender.join()
    assert received[:3] == [("log", 0), ("log", 1), ("log", 2)] and received[3] == ("report", big)
    main.send(None)
    assert worker.recv() is None


def test_a_half_written_message_never_blocks_the_main_process_and_is_dropped_at_end_of_file():
    """A worker stopped or killed in the middle of a message: the main process goes on, then sees the end."""
    main, theirs = Channel.pair()
    data = pickle.dumps(("report", "complete"))
    theirs.sendall(struct.pack("!Q", len(data)) + data)
    partial = pickle.dumps(("log", (20, "cut short")))
    theirs.sendall(struct.pack("!Q", len(partial)) + partial[:5])
    assert main.receive() == ("report", "complete")
    assert main.receive() is None and not main.closed  # returns at once: the rest may come, or not
    theirs.close()  # the worker died
    assert main.receive() is None and main.closed


def test_the_worker_learns_the_main_process_is_gone():
    main, theirs = Channel.pair()
    worker = Channel(theirs)
    main.close()
    try:
        worker.recv()
    except ChannelClosed:
        pass
    else:  # pragma: no cover
        raise AssertionError("recv should raise at end of file")
