"""A customer writing in neither English nor French gets `und`, not a confident wrong guess.

Japanese came out `fr` at 0.999 and Spanish `fr` at 0.997: the email went to the French queue
and the customer got a French acknowledgement. `und` sends it to the bilingual queue with a
bilingual acknowledgement instead.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth import Role
from tests.inbox.builders import email as build_email
from tests.inbox.builders import raw_headers
from tests.support.apps import Running
from tests.support.smtp import SmtpServer, running_with_smtp

JAPANESE = (
    "カスタマーサービス御中\n\n"
    "いつもお世話になっております。先週注文したワイヤレスイヤホンがまだ届いておりません。"
    "注文番号は A-55310 です。配送状況を確認していただけますでしょうか。"
    "また、iPhoneの請求書の金額が見積もりと異なっているようです。"
    "お手数ですが、ご確認のほどよろしくお願いいたします。\n\n佐藤 花子"
)
CHINESE = (
    "您好，\n\n我上个月订购的笔记本电脑至今还没有收到，订单号是 A-55310。"
    "请问能帮我查一下物流信息吗？另外，我的信用卡被扣了两次款，希望尽快退还多扣的金额。"
    "如果需要更多信息，请给我回邮件。\n\n谢谢！\n王伟"
)
ARABIC = (
    "مرحبا،\n\nلقد طلبت هاتفاً جديداً قبل أسبوعين ولم يصلني حتى الآن. رقم الطلب هو A-55310. "
    "هل يمكنكم التحقق من حالة الشحن وإخباري بموعد التسليم المتوقع؟ كما أنني تلقيت فاتورة "
    "بمبلغ أعلى من المتفق عليه، وأرجو تصحيحها في أقرب وقت ممكن.\n\nشكراً لكم،\nأحمد"
)
RUSSIAN = (
    "Здравствуйте!\n\nДве недели назад я заказал ноутбук, но до сих пор его не получил. "
    "Номер заказа A-55310. Не могли бы вы проверить статус доставки? Кроме того, с моей "
    "карты списали деньги дважды, прошу вернуть лишнюю сумму как можно скорее.\n\n"
    "С уважением,\nИван Петров"
)
SPANISH = (
    "Hola,\n\nHace dos semanas pedí un portátil y todavía no lo he recibido. El número de "
    "pedido es A-55310. ¿Podrían comprobar el estado del envío y decirme cuándo llegará? "
    "Además, me cobraron dos veces en la tarjeta de crédito y quisiera que me devuelvan el "
    "importe duplicado lo antes posible.\n\nMuchas gracias,\nMaría García"
)
PORTUGUESE = (
    "Olá,\n\nEncomendei um portátil há duas semanas e ainda não o recebi. O número da "
    "encomenda é A-55310. Podem verificar o estado do envio e dizer-me quando vai chegar? "
    "Além disso, o meu cartão de crédito foi cobrado duas vezes e gostaria de receber o "
    "reembolso do valor duplicado o mais depressa possível.\n\nObrigado,\nJoão Silva"
)
GERMAN = (
    "Guten Tag,\n\nich habe vor zwei Wochen einen Laptop bestellt und ihn bis heute nicht "
    "erhalten. Die Bestellnummer lautet A-55310. Könnten Sie bitte den Versandstatus prüfen "
    "und mir mitteilen, wann er ankommt? Außerdem wurde meine Kreditkarte zweimal belastet, "
    "und ich bitte um Erstattung des doppelten Betrags.\n\nMit freundlichen Grüßen\n"
    "Thomas Müller"
)
ITALIAN = (
    "Buongiorno,\n\ndue settimane fa ho ordinato un computer portatile e non l'ho ancora "
    "ricevuto. Il numero dell'ordine è A-55310. Potreste verificare lo stato della spedizione "
    "e dirmi quando arriverà? Inoltre, la mia carta di credito è stata addebitata due volte e "
    "vorrei il rimborso dell'importo duplicato il prima possibile.\n\nCordiali saluti,\n"
    "Giulia Rossi"
)
DUTCH = (
    "Goedemiddag,\n\nTwee weken geleden heb ik een laptop besteld, maar ik heb hem nog steeds "
    "niet ontvangen. Het bestelnummer is A-55310. Kunt u de status van de verzending "
    "controleren en laten weten wanneer hij aankomt? Bovendien is mijn creditcard twee keer "
    "belast.\n\nMet vriendelijke groet,\nJan de Vries"
)
POLISH = (
    "Dzień dobry,\n\ndwa tygodnie temu zamówiłem laptopa i nadal go nie otrzymałem. Numer "
    "zamówienia to A-55310. Czy mogą Państwo sprawdzić status wysyłki? Dodatkowo moja karta "
    "została obciążona dwukrotnie i proszę o zwrot nadpłaty.\n\nPozdrawiam,\nPiotr Nowak"
)

FOREIGN = [
    pytest.param(JAPANESE, "text:non_latin_script", id="japanese"),
    # Two runs of letters, the first starting in Latin: French at 0.999 before.
    pytest.param(
        "iPhoneの画面が割れました。修理をお願いします。",
        "text:non_latin_script",
        id="japanese-short",
    ),
    pytest.param(CHINESE, "text:non_latin_script", id="chinese"),
    pytest.param(ARABIC, "text:non_latin_script", id="arabic"),
    pytest.param(RUSSIAN, "text:non_latin_script", id="russian"),
    pytest.param(SPANISH, "text:other_language_words", id="spanish"),
    pytest.param(PORTUGUESE, "text:other_language_words", id="portuguese"),
    pytest.param(GERMAN, "text:other_language_words", id="german"),
    pytest.param(ITALIAN, "text:other_language_words", id="italian"),
    pytest.param(DUTCH, "text:other_language_words", id="dutch"),
    pytest.param(POLISH, "text:unknown_words", id="polish"),
]

# English and French as customers write them: typos, no accents, chat abbreviations, product
# names and codes, URLs, foreign names, a line in another script.
OURS = [
    pytest.param(
        "Hi there,\n\nI orderd the XPS-9320 laptop last week and it still hasnt arrived, the "
        "tracking on https://track.example.com/A55310 says 'label created' since monday. Can "
        "you pls check whats going on? Also my Visa was charged twice for the same ordr.\n\n"
        "Thx,\nPriya Raghunathan",
        "en",
        id="english-typos-url",
    ),
    pytest.param(
        "Your Galaxy Buds2 Pro and the AirPods Max are both listed as backorderd on the Shopify "
        "page, can you confirm when the SKU KB-7781X ships?",
        "en",
        id="english-products",
    ),
    pytest.param(
        "Hello, this is Oluwaseun Adeyemi-Kowalczyk from Brzęczyszczykiewicz Logistics in "
        "Saskatoon. Please call Wojciech or Siobhán about invoice 4471.",
        "en",
        id="english-foreign-names",
    ),
    pytest.param(
        "Hello, my name is 田中太郎 (Taro Tanaka) and I have a question about my bill for last "
        "month, it seems too high.",
        "en",
        id="english-japanese-name",
    ),
    pytest.param(
        "yo my acct is locked again smh, cant login on the app or the website, pls fix asap",
        "en",
        id="english-chat",
    ),
    pytest.param("Still no refund.", "en", id="english-short"),
    pytest.param(
        "Bonjour,\n\nJ'ai commander un ordi portable XPS-9320 la semaine derniere et je l'ai "
        'toujours pas recu. Le suivi sur https://suivi.exemple.fr/A55310 dit "étiquette créée" '
        "depuis lundi. Pouvez vous verifier svp ? En plus ma carte Visa a été débité deux fois "
        "pour la meme commande.\n\nMerci,\nGeneviève Tremblay",
        "fr",
        id="french-typos-url",
    ),
    pytest.param(
        "Mes écouteurs Galaxy Buds2 Pro et le chargeur MagSafe sont en rupture sur la page "
        "Shopify, pouvez-vous confirmer quand le SKU KB-7781X sera expédié ?",
        "fr",
        id="french-products",
    ),
    pytest.param(
        "slt jvoulais savoir si vous pouviez mrappeler demain pcq jsuis pas dispo ajd merci bcp",
        "fr",
        id="french-chat",
    ),
    pytest.param(
        "Allo, chu pas capable de me connecter à mon compte depuis hier, ça marche pu "
        "pantoute. Pouvez-vous m'aider svp? C'est vraiment tannant.",
        "fr",
        id="french-quebec",
    ),
    pytest.param(
        "Bonjour, je voudrais envoyer un colis à ma sœur à l'adresse Москва, ул. Ленина 5. "
        "Est-ce possible avec votre service ?",
        "fr",
        id="french-cyrillic-address",
    ),
    pytest.param("Toujours pas de remboursement.", "fr", id="french-short"),
]


@pytest.fixture
async def agent(app: Running) -> dict[str, str]:
    return {"Authorization": f"Bearer {await app.token(Role.AGENT, agent_id=uuid.uuid4())}"}


async def detect(app: Running, headers: dict[str, str], text: str, **hints: str) -> dict[str, Any]:
    body: dict[str, object] = {"text": text}
    if hints:
        body["hints"] = hints
    answer = await app.client.post("/translation/v1/detect", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize(("text", "reason"), FOREIGN)
async def test_a_customer_email_in_another_language_is_und_and_says_why(
    app: Running, agent: dict[str, str], text: str, reason: str
) -> None:
    result = await detect(app, agent, text)

    assert result["language"] == "und"
    assert result["evidence"] == [reason]
    assert result["confidence"] == max(result["scores"]["en"], result["scores"]["fr"])
    assert result["confidence"] <= 0.5


@pytest.mark.parametrize(
    ("text", "hints"),
    [
        (SPANISH, {"content_language": "fr-CA", "sender_domain": "maria@exemple.fr"}),
        (GERMAN, {"line_language": "en", "contact_language": "en"}),
        (JAPANESE, {"content_language": "en-US"}),
        (CHINESE, {"accept_language": "fr-CA,fr;q=0.9", "phone_region": "CA-QC"}),
    ],
)
async def test_no_hint_turns_a_text_in_another_language_into_english_or_french(
    app: Running, agent: dict[str, str], text: str, hints: dict[str, str]
) -> None:
    # Content-Language included: mail clients write it from their settings, not from the text.
    result = await detect(app, agent, text, **hints)

    assert result["language"] == "und"
    assert result["confidence"] <= 0.5
    assert not any(item.startswith("hint:") for item in result["evidence"])


@pytest.mark.parametrize(("text", "language"), OURS)
async def test_english_and_french_as_customers_write_them_keep_their_language(
    app: Running, agent: dict[str, str], text: str, language: str
) -> None:
    result = await detect(app, agent, text)

    assert result["language"] == language
    assert result["evidence"] == ["text"]
    assert result["confidence"] > 0.9


async def test_the_batch_endpoint_answers_und_for_each_text_in_another_language(
    app: Running, agent: dict[str, str]
) -> None:
    texts = [SPANISH, "Merci pour votre aide, tout fonctionne maintenant.", RUSSIAN, "Thanks!"]

    answer = await app.client.post(
        "/translation/v1/detect/batch",
        json={"items": [{"text": text} for text in texts]},
        headers=agent,
    )

    assert answer.status_code == 200
    assert [item["language"] for item in answer.json()["items"]] == ["und", "fr", "und", "en"]


@pytest.fixture
async def ack_app(db_url: str, tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[Running]:
    async with running_with_smtp(db_url, tmp_path, smtp_server, auto_acknowledge=True) as running:
        yield running


async def test_a_spanish_email_becomes_an_und_conversation_acknowledged_in_both_languages(
    ack_app: Running, smtp_server: SmtpServer
) -> None:
    raw = build_email(
        sender="María García <maria.garcia@ejemplo.es>",
        subject="Pedido A-55310 sin recibir",
        body=SPANISH,
        headers={"Content-Language": "es-ES"},
    )
    gateway = await ack_app.token(Role.GATEWAY, name="postfix")
    reader = {"Authorization": f"Bearer {await ack_app.token(Role.SUPERVISOR)}"}

    answer = await ack_app.client.post(
        "/inbox/v1/inbound/email", content=raw, headers=raw_headers(gateway)
    )
    await ack_app.deliver_all()
    receipt = answer.json()
    conversation = (
        await ack_app.client.get(
            f"/inbox/v1/conversations/{receipt['conversation_id']}", headers=reader
        )
    ).json()

    assert answer.status_code == 202, answer.text
    assert receipt["language"] == "und"
    assert conversation["language"] == "und"
    message = conversation["messages"][0]
    assert message["language"] == "und"
    assert message["language_confidence"] <= 0.5
    [ack] = [
        email.message_from_bytes(sent.data, policy=email.policy.default)
        for sent in smtp_server.messages
    ]
    part = ack.get_body(preferencelist=("plain",))
    assert part is not None
    text = part.get_content()
    assert "We received your message" in ack["Subject"]
    assert "Nous avons bien reçu votre message" in ack["Subject"]
    assert "Thank you for contacting us." in text
    assert "Merci de nous avoir écrit." in text
