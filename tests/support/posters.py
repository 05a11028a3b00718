"""The printed posters read back: a PDF page rasterized by PDFium, its text and QR code."""

from __future__ import annotations

import pypdfium2 as pdfium
import zxingcpp

DPI = 150


class Page:
    """A poster as printed: its page's size, its text, its pixels."""

    def __init__(self, pdf: bytes) -> None:
        document = pdfium.PdfDocument(pdf)
        self.pages = len(document)
        page = document[0]
        self.size = page.get_size()
        textpage = page.get_textpage()
        self.text = textpage.get_text_range()
        self.boxes = [textpage.get_charbox(i) for i in range(textpage.count_chars())]
        self.image = page.render(scale=DPI / 72, grayscale=True).to_pil()

    def words(self) -> str:
        """The text with its line breaks as spaces: a wrapped name reads as one."""
        return " ".join(self.text.split())

    def codes(self) -> list[str]:
        found = zxingcpp.read_barcodes(self.image)
        assert all(code.format == zxingcpp.BarcodeFormat.QRCode for code in found)
        return [code.text for code in found]
