"""The contract between models and data: each DataModule offers what its kinds promise, `connect` refuses one
that does not, and hands a model the data it reads."""

import pytest

from flik_lab.data.imdb import IMDBDataModule
from flik_lab.data.translation import TranslationDataModule
from flik_lab.data.unpaired import UnpairedImageDataModule
from flik_lab.models.connect import DataContractError, connect, trainer_data
from flik_lab.models.contracts import DATA_CONTRACTS, SentencePairData, UnpairedImageData
from flik_lab.models.seq2seq.rnn import RNNSeq2Seq
from flik_lab.models.translator import Translator


@pytest.mark.parametrize("cls", [IMDBDataModule, TranslationDataModule, UnpairedImageDataModule])
def test_each_data_module_offers_the_contract_of_every_kind_it_lists(cls, tmp_path):
    data = cls(data_dir=str(tmp_path))  # not set up: the check reads no property
    for kind in cls.data_kinds:
        assert isinstance(data, DATA_CONTRACTS[kind]), kind


def test_connect_refuses_data_of_another_kind_and_names_what_is_missing(tmp_path):
    model = Translator(RNNSeq2Seq(source_vocab_size=20, target_vocab_size=20))
    with pytest.raises(
        DataContractError, match="Translator needs data that offers SentencePairData.*decode_target"
    ):
        connect(model, UnpairedImageDataModule(data_dir=str(tmp_path)))


def test_connect_hands_a_translator_its_data_and_setup_reads_the_tokenizer(tmp_path):
    class Pairs:
        target_vocab_size = 12

        def decode_target(self, ids):
            return [" ".join(map(str, row)) for row in ids]

        encode_source = source_tokens = target_tokens = val_pairs = decode_target

    model = Translator(RNNSeq2Seq(source_vocab_size=20, target_vocab_size=20))
    connect(model, Pairs())
    assert model.detokenize is None  # read once the data is set up, in setup
    model.setup("fit")
    assert model.target_vocab_size == 12 and model.detokenize([[1, 2]]) == ["1 2"]


def test_a_callback_gets_its_data_checked(tmp_path):
    class Trainer:
        datamodule = UnpairedImageDataModule(data_dir=str(tmp_path))

    assert trainer_data(Trainer(), UnpairedImageData, object()) is Trainer.datamodule
    with pytest.raises(DataContractError, match="object needs data that offers SentencePairData"):
        trainer_data(Trainer(), SentencePairData, object())
