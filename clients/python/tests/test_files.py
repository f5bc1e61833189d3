from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from .support import ServiceTestCase

SALES = b"region,sales\nnorth,10\nsouth,32\n"

SUMS_THE_SALES = """\
import csv, os
with open('data/sales.csv', newline='') as file:
    total = sum(int(row['sales']) for row in csv.DictReader(file))
print(total)
os.makedirs('out')
with open('out/total.txt', 'w') as file:
    file.write(str(total))
"""

DRAWS_A_FIGURE = """\
import matplotlib.pyplot as plt
plt.plot([1, 2, 3], [1, 4, 9])
plt.title('squares')
plt.show()
"""


class FilesTest(ServiceTestCase):
    def test_uploads_a_csv_that_the_code_reads_and_downloads_what_it_wrote(self) -> None:
        uploaded = self.sandbox.upload(SALES, "sales.csv")

        self.assertTrue(uploaded.file_id)
        self.assertEqual(uploaded.name, "sales.csv")
        self.assertEqual(uploaded.size, len(SALES))
        self.assertEqual(uploaded.sha256, hashlib.sha256(SALES).hexdigest())
        self.assertEqual(uploaded.media_type, "text/csv")

        result = self.sandbox.execute(SUMS_THE_SALES, files=[uploaded.as_input("data/sales.csv")])

        self.assertEqual(result.output, "42\n")
        self.assertEqual([file.path for file in result.files], ["total.txt"])
        self.assertEqual(self.sandbox.output_file(result.execution_id, "total.txt"), b"42")

    def test_uploads_a_file_from_a_path_under_its_name(self) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "notes.txt")
            path.write_bytes(b"streamed from disk\n")

            uploaded = self.sandbox.upload(path)

        self.assertEqual(uploaded.name, "notes.txt")
        self.assertEqual(uploaded.size, len(b"streamed from disk\n"))
        self.assertEqual(uploaded.media_type, "text/plain")

    def test_downloads_a_figure_as_a_png(self) -> None:
        result = self.sandbox.execute(DRAWS_A_FIGURE)

        [figure] = result.figures
        self.assertEqual(figure.title, "squares")
        png = self.sandbox.figure(result.execution_id, figure.index)
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(len(png), figure.size)
