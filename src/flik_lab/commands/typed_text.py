"""translate's sentence as a user types it, made into Hydra overrides before Hydra parses them."""

import re
import sys

from flik_lab.utils.errors import USER_ERROR_EXIT_CODE

# Hydra's options that take the next word as their value; `--info` only when the word is one of its topics
HYDRA_VALUE_OPTIONS = frozenset(
    "--cfg -c --package -p --config-path -cp --config-name -cn --config-dir -cd --experimental-rerun".split()
)
INFO_TOPICS = {"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"}
PATH_KEYS = ("ckpt_path=", "input=", "output=", "heatmap=", "references=")


def hydra_quoted(text: str, literal: bool = True) -> str:
    """`text` as a quoted Hydra override value that reads back as exactly `text`: Hydra's lexer refuses
    unquoted non-ASCII letters (`fünf`) and reads `,` as a sweep. Quotes are escaped, as are backslashes
    before a quote or at the end, and (`literal`) `${` so that OmegaConf does not resolve it."""
    if literal:
        text = text.replace("${", "\\${")
    text = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    text = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, text)
    return f"'{text}'"


def typed_text(args: list[str]) -> list[str]:
    """translate's arguments with the sentence as typed: the words that are neither overrides (`key=value`,
    `~key`) nor options become one `text=` override, a `text=` value not in quotes is taken literally, and a
    path not in quotes may hold non-ASCII letters (`input=données.txt`)."""
    overrides, words, after_option = [], [], False
    for arg in args:
        if after_option:
            after_option = False
            if arg in INFO_TOPICS or overrides[-1] not in ("--info", "-i"):
                overrides.append(arg)
                continue
        if arg.startswith("-"):
            overrides.append(arg)
            after_option = arg in HYDRA_VALUE_OPTIONS or arg in ("--info", "-i")
        elif arg.startswith("text=") and arg[5:6] not in ("'", '"'):
            overrides.append("text=" + hydra_quoted(arg[5:]))
        elif arg.startswith(PATH_KEYS) and not arg.isascii() and arg.partition("=")[2][:1] not in ("'", '"'):
            key, _, path = arg.partition("=")
            overrides.append(f"{key}={hydra_quoted(path, literal=False)}")
        elif "=" in arg or arg.startswith("~"):
            overrides.append(arg)
        else:
            words.append(arg)
    if not words:
        return overrides
    if any(arg.startswith(("text=", "input=")) for arg in overrides):
        print(
            f"flik-lab: error: the sentence {' '.join(words)!r} is given beside text= or input=; "
            "give exactly one of them",
            file=sys.stderr,
        )
        sys.exit(USER_ERROR_EXIT_CODE)
    return [*overrides, "text=" + hydra_quoted(" ".join(words))]
