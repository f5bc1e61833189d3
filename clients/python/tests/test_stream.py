from __future__ import annotations

from brain_net_sandbox import OutputEvent, ResultEvent, StatusEvent

from .support import ServiceTestCase

PRINTS_THREE_LINES = """\
import time
for word in ['one', 'two', 'three']:
    print(word, flush=True)
    time.sleep(0.2)
"""


class StreamTest(ServiceTestCase):
    def test_yields_the_printed_lines_in_order_then_the_result_and_ends(self) -> None:
        submission = self.sandbox.submit(PRINTS_THREE_LINES)

        events = list(self.sandbox.stream(submission.execution_id))

        outputs = [event for event in events if isinstance(event, OutputEvent)]
        self.assertEqual("".join(event.data for event in outputs), "one\ntwo\nthree\n")
        self.assertEqual({event.stream for event in outputs}, {"stdout"})
        ids = [event.id for event in events]
        self.assertEqual(ids, sorted(ids, key=lambda event_id: event_id or 0))
        self.assertTrue(any(isinstance(event, StatusEvent) for event in events))
        *before, last = events
        if not isinstance(last, ResultEvent):
            self.fail(f"the stream ended with {last}, not the result")
        self.assertEqual(last.execution.status, "completed")
        self.assertEqual(last.execution.output, "one\ntwo\nthree\n")
        self.assertFalse(any(isinstance(event, ResultEvent) for event in before))

        # Resuming after the last output of a finished run sends no output again.
        resumed = list(self.sandbox.stream(submission.execution_id, last_event_id=last.id))
        self.assertFalse(any(isinstance(event, OutputEvent) for event in resumed))
        self.assertIsInstance(resumed[-1], ResultEvent)
