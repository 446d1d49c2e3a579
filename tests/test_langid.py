"""Language identification per supported language (messages we wrote for the test)."""

from __future__ import annotations

import pytest

from service.core.langid import LanguageIdentifier

SAMPLES = {
    "en": "Hi, my router keeps dropping the connection every evening, can you check the line?",
    "ru": "Здравствуйте, у меня уже третий день не работает интернет, когда почините?",
    "fr": "Bonjour, j'ai été prélevé deux fois ce mois-ci, pouvez-vous vérifier ma facture ?",
    "de": "Guten Tag, seit gestern kann ich mich nicht mehr in mein Kundenkonto einloggen.",
    "es": "Hola, me cobraron dos veces la suscripción y nadie me responde, ¿qué pasa?",
    "et": "Tere, minu arve on sel kuul kaks korda suurem kui tavaliselt, palun kontrollige.",
    "ja": "お世話になっております。昨日からログインできず、エラーが表示されます。",
}


@pytest.fixture(scope="module")
def detector():
    return LanguageIdentifier()


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_langid_detects_supported_language(detector, lang):
    found = detector.detect(SAMPLES[lang])
    assert found.code == lang
    assert 0 < found.confidence <= 1


@pytest.mark.parametrize("text,lang", [("ログインできない", "ja"), ("не работает", "ru"), ("arve on vale", "et")])
def test_langid_short_messages(detector, text, lang):
    assert detector.detect(text).code == lang


def test_langid_empty_is_undetermined(detector):
    assert detector.detect("   ").code == "und"
