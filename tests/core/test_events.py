import threading

from kiosk.events import DATA, EventQueue


def test_events_from_many_threads_arrive_in_order_per_producer_and_wake_the_consumer():
    q = EventQueue()
    wakes = []
    q.set_waker(lambda: wakes.append(1))

    def produce(name):
        for i in range(500):
            q.post(name, DATA, n=i)

    threads = [threading.Thread(target=produce, args=(f"dev{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = q.drain()
    assert len(events) == 2000 and len(wakes) == 2000
    for k in range(4):
        assert [e.data["n"] for e in events if e.source == f"dev{k}"] == list(range(500))
    assert q.drain() == []


def test_drain_limit_and_wait_for():
    q = EventQueue()
    for i in range(5):
        q.post("scanner", DATA, code=str(i))
    assert [e.data["code"] for e in q.drain(limit=2)] == ["0", "1"]
    found = q.wait_for(lambda e: e.data.get("code") == "4", timeout=1)
    assert found is not None and len(q) == 0
    assert q.wait_for(lambda e: True, timeout=0.05) is None


def test_an_empty_queue_is_still_a_queue():
    from kiosk.events import EventQueue
    queue = EventQueue()
    assert len(queue) == 0 and bool(queue)  # `events or EventQueue()` must keep the caller's queue
    assert (queue or EventQueue()) is queue


def test_sources_kinds_and_payloads_are_typed_and_data_stays_readable():
    from kiosk.events import Event, Kind, PaymentResult, PrintJobFailed, Scanned, Source
    q = EventQueue()
    q.post("scanner", DATA, Scanned("4006381333931", symbology="EAN-13", category="product"))
    q.post("printer", DATA, PrintJobFailed(7, "receipt", "paper out"))
    q.post("payment", "data", PaymentResult("u-1", "approved", "payment.approved"))
    q.post("tool", "beep", n=1)  # a tool's own source and kind stay strings
    scan, failed, paid, tool = q.drain()
    assert scan.source is Source.SCANNER and scan.kind is Kind.DATA and isinstance(scan.payload, Scanned)
    assert scan.data["code"] == "4006381333931" and scan.data["category"] == "product"
    assert failed.data == {"job": "failed", "job_id": 7, "label": "receipt", "error": "paper out"}
    assert paid.source is Source.PAYMENT and paid.data["event"] == "result" and paid.payload.status == "approved"
    assert (tool.source, tool.kind, tool.payload, tool.data) == ("tool", "beep", None, {"n": 1})
    assert f"{Source.SCANNER}/{Kind.STATUS}" == "scanner/status" and Source.SCANNER == "scanner"
    assert Event("camera", "status").source is Source.CAMERA
