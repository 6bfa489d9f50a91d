"""Tiny parallel corpora in the real formats: manythings.org Anki TSV files and in-memory hub datasets."""

from pathlib import Path

import datasets

ATTRIBUTION = "CC-BY 2.0 (France) Attribution: tatoeba.org #{} (CK) & #{} (Pfirsichbaeumchen)"
# (German, English) pairs in the style of Tatoeba; "Ich bin müde." has two translations, as in deu.txt
PAIRS = [
    ("Geh.", "Go."),
    ("Hallo!", "Hello!"),
    ("Lauf!", "Run!"),
    ("Hilfe!", "Help!"),
    ("Warte!", "Wait!"),
    ("Ich bin müde.", "I'm tired."),
    ("Ich bin müde.", "I am tired."),
    ("Ich habe Hunger.", "I'm hungry."),
    ("Tom schläft.", "Tom is sleeping."),
    ("Das ist gut.", "That's good."),
    ("Wir sind zu Hause.", "We're home."),
    ("Er liest ein Buch.", "He is reading a book."),
    ("Sie trinkt Kaffee.", "She drinks coffee."),
    ("Der Hund bellt.", "The dog is barking."),
    ("Die Katze schläft.", "The cat is sleeping."),
    ("Ich mag Äpfel.", "I like apples."),
    ("Es regnet.", "It's raining."),
    ("Mir ist kalt.", "I'm cold."),
    ("Komm her!", "Come here!"),
    ("Sei still!", "Be quiet!"),
    ("Wo bist du?", "Where are you?"),
    ("Wer ist das?", "Who is that?"),
    ("Ich weiß es nicht.", "I don't know."),
    ("Danke schön!", "Thank you!"),
    ("Guten Morgen!", "Good morning!"),
    ("Gute Nacht!", "Good night!"),
    ("Ich liebe dich.", "I love you."),
    ("Tom ist groß.", "Tom is tall."),
    ("Maria singt.", "Mary is singing."),
    ("Das Wasser ist heiß.", "The water is hot."),
    ("Öffne die Tür.", "Open the door."),
    ("Schließ das Fenster.", "Close the window."),
    ("Ich spreche Deutsch.", "I speak German."),
    ("Der Zug ist spät.", "The train is late."),
    ("Wir essen Brot.", "We eat bread."),
    ("Das Haus ist alt.", "The house is old."),
]


def anki_line(german: str, english: str, n: int) -> str:
    """One line of a manythings.org file: `English<TAB>German<TAB>attribution`."""
    return f"{english}\t{german}\t{ATTRIBUTION.format(1000 + n, 2000 + n)}"


def write_anki(path: Path, pairs: list[tuple[str, str]]) -> Path:
    """`(German, English)` pairs as an Anki file (`deu.txt` layout), UTF-8, one pair a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(anki_line(de, en, n) + "\n" for n, (de, en) in enumerate(pairs)), encoding="utf-8"
    )
    return path


def write_anki_splits(folder: Path) -> dict[str, Path]:
    """`train.txt`, `val.txt`, `test.txt` under `folder`: 26 / 5 / 5 pairs of `PAIRS`."""
    parts = {"train": PAIRS[:26], "val": PAIRS[26:31], "test": PAIRS[31:]}
    return {name: write_anki(folder / f"{name}.txt", pairs) for name, pairs in parts.items()}


def hub_dataset(layout: str = "translation", splits: tuple[str, ...] = ("train", "validation", "test")):
    """A `datasets.DatasetDict` like wmt14 (`translation` column of `{de, en}`) or bentrevett/multi30k
    (`en` and `de` columns): train 26 pairs, the other splits 5 each."""
    parts = dict(zip(splits, (PAIRS[:26], PAIRS[26:31], PAIRS[31:]), strict=False))
    if layout == "translation":
        rows = {
            name: {"translation": [{"de": de, "en": en} for de, en in pairs]} for name, pairs in parts.items()
        }
    else:
        rows = {
            name: {"en": [en for _, en in pairs], "de": [de for de, _ in pairs]}
            for name, pairs in parts.items()
        }
    return datasets.DatasetDict({name: datasets.Dataset.from_dict(data) for name, data in rows.items()})


# numbers up to 60, a translator of width 8 trained on one batch: a few seconds
TINY_TRANSLATION = [
    "experiment=translate_numbers_rnn",
    "data.max_number=60",
    "data.val_size=8",
    "data.test_size=8",
    "data.batch_size=8",
    "model.network.embed_dim=8",
    "model.network.hidden_size=8",
    "debug=tiny",
    "trainer.limit_train_batches=1",
    "test=false",
]
