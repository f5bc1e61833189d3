from __future__ import annotations

from .support import ServiceTestCase


class BatchTest(ServiceTestCase):
    def test_runs_one_code_over_many_inputs_and_returns_the_results_in_order(self) -> None:
        batch = self.sandbox.batch(
            "print(input_data['n'] ** 2)",
            inputs=[{"input_data": {"n": n}} for n in (1, 2, 3)],
            shared_container=True,
        )

        self.assertEqual(batch.status, "finished")
        self.assertEqual(batch.total, 3)
        self.assertEqual(batch.counts["completed"], 3)
        self.assertEqual([item.output for item in batch.items], ["1\n", "4\n", "9\n"])
        self.assertEqual([item.batch_index for item in batch.items], [0, 1, 2])
        self.assertEqual({item.batch_id for item in batch.items}, {batch.batch_id})
