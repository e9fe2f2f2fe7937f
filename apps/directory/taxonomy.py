"""The curated vocabularies of a listing: specializations (slug, label, and the words
people search them by, in several languages), languages (ISO 639-1) and payment modes.

A specialization's synonyms go into the index's text with its label, so "fysio" finds
physiotherapists without any typo tolerance (which handles the rest: "physoi").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Specialization:
    slug: str
    label: str | Promise
    synonyms: tuple[str, ...] = ()


SPECIALIZATIONS: tuple[Specialization, ...] = (
    Specialization(
        "physiotherapy",
        _("Physiotherapy"),
        (
            "physio",
            "physiotherapist",
            "physical therapy",
            "fysio",
            "fysiotherapeut",
            "physiotherapeut",
            "kinésithérapeute",
            "kiné",
            "fisioterapia",
            "fisioterapeuta",
        ),
    ),
    Specialization("osteopathy", _("Osteopathy"), ("osteopath", "osteopathie", "osteópata")),
    Specialization("chiropractic", _("Chiropractic"), ("chiropractor", "chiropraktiker")),
    Specialization(
        "massage", _("Massage therapy"), ("masseur", "massage", "masaje", "sports massage")
    ),
    Specialization("general-practice", _("General practice"), ("gp", "doctor", "hausarzt")),
    Specialization("dentistry", _("Dentistry"), ("dentist", "zahnarzt", "dentiste", "dentista")),
    Specialization(
        "psychotherapy", _("Psychotherapy"), ("therapist", "counselling", "psychologist")
    ),
    Specialization(
        "nutrition", _("Nutrition"), ("dietitian", "nutritionist", "ernährungsberatung")
    ),
    Specialization(
        "speech-therapy", _("Speech therapy"), ("logopedie", "logopädie", "orthophonie")
    ),
    Specialization("podiatry", _("Podiatry"), ("podiatrist", "chiropodist", "podologe")),
    Specialization("acupuncture", _("Acupuncture"), ("acupuncturist", "akupunktur")),
    Specialization(
        "hairdressing", _("Hairdressing"), ("hairdresser", "barber", "friseur", "coiffeur")
    ),
    Specialization("beauty", _("Beauty and cosmetics"), ("beautician", "nails", "kosmetik")),
    Specialization("personal-training", _("Personal training"), ("personal trainer", "fitness")),
    Specialization("yoga", _("Yoga"), ("yoga teacher", "pilates")),
    Specialization("tutoring", _("Tutoring"), ("tutor", "nachhilfe", "teacher", "lessons")),
    Specialization("language-teaching", _("Language teaching"), ("language tutor", "sprachkurs")),
    Specialization("music-teaching", _("Music teaching"), ("music teacher", "piano", "guitar")),
    Specialization("legal-advice", _("Legal advice"), ("lawyer", "solicitor", "anwalt", "avocat")),
    Specialization("tax-advice", _("Tax and accounting"), ("accountant", "steuerberater")),
    Specialization("consulting", _("Business consulting"), ("consultant", "coach", "beratung")),
    Specialization("veterinary", _("Veterinary care"), ("vet", "tierarzt", "vétérinaire")),
    Specialization("rooms", _("Rooms and spaces"), ("meeting room", "studio", "room hire")),
    Specialization("equipment", _("Equipment hire"), ("rental", "hire", "verleih")),
)
SPECIALIZATION_BY_SLUG = {spec.slug: spec for spec in SPECIALIZATIONS}

# ISO 639-1, the two-letter codes (English names; "_" stands for a space).
_LANGUAGE_TABLE = (
    "aa:Afar ab:Abkhazian ae:Avestan af:Afrikaans ak:Akan am:Amharic an:Aragonese "
    "ar:Arabic as:Assamese av:Avaric ay:Aymara az:Azerbaijani ba:Bashkir be:Belarusian "
    "bg:Bulgarian bi:Bislama bm:Bambara bn:Bengali bo:Tibetan br:Breton bs:Bosnian "
    "ca:Catalan ce:Chechen ch:Chamorro co:Corsican cr:Cree cs:Czech cu:Church_Slavic "
    "cv:Chuvash cy:Welsh da:Danish de:German dv:Divehi dz:Dzongkha ee:Ewe el:Greek "
    "en:English eo:Esperanto es:Spanish et:Estonian eu:Basque fa:Persian ff:Fulah "
    "fi:Finnish fj:Fijian fo:Faroese fr:French fy:Western_Frisian ga:Irish "
    "gd:Scottish_Gaelic gl:Galician gn:Guarani gu:Gujarati gv:Manx ha:Hausa he:Hebrew "
    "hi:Hindi ho:Hiri_Motu hr:Croatian ht:Haitian hu:Hungarian hy:Armenian hz:Herero "
    "ia:Interlingua id:Indonesian ie:Interlingue ig:Igbo ii:Sichuan_Yi ik:Inupiaq "
    "io:Ido is:Icelandic it:Italian iu:Inuktitut ja:Japanese jv:Javanese ka:Georgian "
    "kg:Kongo ki:Kikuyu kj:Kuanyama kk:Kazakh kl:Kalaallisut km:Khmer kn:Kannada "
    "ko:Korean kr:Kanuri ks:Kashmiri ku:Kurdish kv:Komi kw:Cornish ky:Kyrgyz la:Latin "
    "lb:Luxembourgish lg:Ganda li:Limburgish ln:Lingala lo:Lao lt:Lithuanian "
    "lu:Luba-Katanga lv:Latvian mg:Malagasy mh:Marshallese mi:Maori mk:Macedonian "
    "ml:Malayalam mn:Mongolian mr:Marathi ms:Malay mt:Maltese my:Burmese na:Nauru "
    "nb:Norwegian_Bokmål nd:North_Ndebele ne:Nepali ng:Ndonga nl:Dutch "
    "nn:Norwegian_Nynorsk no:Norwegian nr:South_Ndebele nv:Navajo ny:Chichewa "
    "oc:Occitan oj:Ojibwa om:Oromo or:Oriya os:Ossetian pa:Punjabi pi:Pali pl:Polish "
    "ps:Pashto pt:Portuguese qu:Quechua rm:Romansh rn:Rundi ro:Romanian ru:Russian "
    "rw:Kinyarwanda sa:Sanskrit sc:Sardinian sd:Sindhi se:Northern_Sami sg:Sango "
    "si:Sinhala sk:Slovak sl:Slovenian sm:Samoan sn:Shona so:Somali sq:Albanian "
    "sr:Serbian ss:Swati st:Southern_Sotho su:Sundanese sv:Swedish sw:Swahili ta:Tamil "
    "te:Telugu tg:Tajik th:Thai ti:Tigrinya tk:Turkmen tl:Tagalog tn:Tswana to:Tonga "
    "tr:Turkish ts:Tsonga tt:Tatar tw:Twi ty:Tahitian ug:Uyghur uk:Ukrainian ur:Urdu "
    "uz:Uzbek ve:Venda vi:Vietnamese vo:Volapük wa:Walloon wo:Wolof xh:Xhosa "
    "yi:Yiddish yo:Yoruba za:Zhuang zh:Chinese zu:Zulu"
)
# The English names, for the index's text (searched the same in every language).
LANGUAGE_NAMES: dict[str, str] = {
    code: name.replace("_", " ")
    for code, _sep, name in (item.partition(":") for item in _LANGUAGE_TABLE.split())
}
# As shown: translated (Django's own catalogue already names most of them).
LANGUAGES: dict[str, str | Promise] = {code: _(name) for code, name in LANGUAGE_NAMES.items()}


def specialization_choices() -> list[tuple[str, str | Promise]]:
    return [(spec.slug, spec.label) for spec in SPECIALIZATIONS]


def language_choices() -> list[tuple[str, str]]:
    """(code, name) in the active language, by name."""
    return sorted(((code, str(name)) for code, name in LANGUAGES.items()), key=lambda p: p[1])
