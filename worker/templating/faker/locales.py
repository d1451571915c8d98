"""Mockoon's faker locales (faker-js names) mapped onto Python Faker's, closest first."""

from __future__ import annotations

from functools import cache

# The list Mockoon 9.9 offers (FakerAvailableLocalesList in @mockoon/commons).
MOCKOON_LOCALES = (
    "af_ZA", "ar", "az", "cs_CZ", "da", "de", "de_AT", "de_CH", "dv", "el", "en", "en_AU", "en_AU_ocker", "en_BORK",
    "en_CA", "en_GB", "en_GH", "en_IE", "en_IN", "en_NG", "en_US", "en_ZA", "eo", "es", "es_MX", "fa", "fi", "fr",
    "fr_BE", "fr_CA", "fr_CH", "fr_LU", "he", "hr", "hu", "hy", "id_ID", "it", "ja", "ka_GE", "ko", "lv", "mk",
    "nb_NO", "ne", "nl", "nl_BE", "pl", "pt_BR", "pt_PT", "ro", "ro_MD", "ru", "sk", "sr_RS_latin", "sv", "tr", "uk",
    "ur", "vi", "yo_NG", "zh_CN", "zh_TW", "zu_ZA",
)
# Where faker-js and Python Faker name things differently.
_ALIASES = {"en": "en_US", "en_AU_ocker": "en_AU", "en_BORK": "en_US", "nb_NO": "no_NO", "ro_MD": "ro_RO",
            "sr_RS_latin": "sr_BA", "fr_LU": "fr_FR", "ar": "ar_SA", "az": "az_AZ", "da": "da_DK", "el": "el_GR",
            "he": "he_IL", "ja": "ja_JP", "ko": "ko_KR", "sv": "sv_SE", "uk": "uk_UA", "vi": "vi_VN", "fa": "fa_IR",
            "hy": "hy_AM", "ne": "ne_NP", "cs": "cs_CZ", "en_ZA": "en_US", "en_GH": "en_US", "af_ZA": "en_US"}


@cache
def python_locale(locale: str) -> str:
    from faker.config import AVAILABLE_LOCALES

    available = set(AVAILABLE_LOCALES)
    if locale in _ALIASES and _ALIASES[locale] in available:
        return _ALIASES[locale]
    if locale in available:
        return locale
    language = locale.split("_")[0]
    for candidate in (f"{language}_{language.upper()}", language):
        if candidate in available:
            return candidate
    same_language = sorted(a for a in available if a.split("_")[0] == language)
    return same_language[0] if same_language else "en_US"
