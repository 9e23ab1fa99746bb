# Copyright (c) simdr_ext contributors. All rights reserved.
"""The ``--help`` of every script in ``tools/`` and ``demo/``: defaults
shown, the module docstring as description and its examples as epilog,
without reStructuredText markup."""
import argparse
import re
from typing import Tuple


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """``--help`` with every default shown (but ``None`` and ``False``,
    which say nothing), and the description and the examples kept as
    written, without their reStructuredText markup."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        text = re.sub(r':[a-z]+:`~?([^`]+)`', r'\1', text)
        text = re.sub(r'``([^`]+)``|\*\*([^*]+)\*\*',
                      lambda m: m.group(1) or m.group(2), text)
        return super()._fill_text(text.replace('::\n', ':\n'), width, indent)

    @staticmethod
    def split_doc(doc: str) -> Tuple[str, str]:
        """A module docstring as ``(description, examples)``: the examples
        are the indented block under its ``Example(s):`` line."""
        lines = doc.strip('\n').splitlines()
        start = next(i for i, line in enumerate(lines)
                     if re.fullmatch(r'(Examples?|Usage):?:?', line))
        end = start + 1
        while end < len(lines) and (not lines[end].strip()
                                    or lines[end].startswith(' ')):
            end += 1
        examples = '\n'.join(lines[start + 1:end]).strip('\n')
        description = '\n'.join(lines[:start] + lines[end:]).strip('\n')
        return description, 'examples:\n' + examples


def tool_parser(doc: str, **kwargs) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose description is a script's module
    docstring ``doc`` and whose epilog is the docstring's examples, with
    :class:`HelpFormatter`."""
    description, examples = HelpFormatter.split_doc(doc)
    return argparse.ArgumentParser(description=description, epilog=examples,
                                   formatter_class=HelpFormatter, **kwargs)
