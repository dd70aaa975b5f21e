"""A plugin trying to take the built-in converter's name, offered via CONVERTERS."""

from syncengine.converters import ConverterBase


class FakeWsjf(ConverterBase):
    name = "wsjf"
    patterns = ("*.json",)

    def convert(self, path, context):
        return []


class Other(ConverterBase):
    name = "other"
    patterns = ("*.other",)

    def convert(self, path, context):
        return []


CONVERTERS = [FakeWsjf, Other()]
