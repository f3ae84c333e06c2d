"""The local Stripe stand-in: localstripe (PyPI), with the one thing its browser script lacks.

Stripe.js pays a PaymentIntent in the browser with `stripe.confirmCardPayment(client_secret,
{payment_method: {card: cardElement}})`: it sends the card to Stripe with the publishable key
and the PaymentIntent's client secret, and Stripe confirms it (no secret key involved).
localstripe's stand-in for Stripe.js only handles the 3-D Secure step of that call. This module
runs localstripe with that call completed: its script, served completed at
`/js.stripe.com/v3/completed.js`, gains a `confirmCardPayment` that sends the card element's
fields to `/js.stripe.com/v3/confirm/{id}`,
where the stand-in checks the client secret and a `pk_` key, creates the card payment method,
attaches it and confirms the PaymentIntent, as Stripe does (then 3-D Secure, if the test card
asks for it, as before).

    python -m tests.support.stripe_stand_in --port 8420

Everything else is localstripe's, including `/_config/webhooks/{id}` and its signed webhooks.
It listens on 127.0.0.1 only.
"""
import argparse
import os
import socket

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

COMPLETION = """
// Completed by the cinema's stand-in: confirmCardPayment with the card element's fields.
(function () {
  const original = Stripe;
  Stripe = (apiKey) => {
    const stripe = original(apiKey);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const card = data && data.payment_method && data.payment_method.card;
      if (!card) return authenticate(clientSecret, data);
      const id = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
      const response = await fetch(`${LOCALSTRIPE_BASE_API}/js.stripe.com/v3/confirm/${id}`, {
        method: "POST",
        body: JSON.stringify({ key: apiKey, client_secret: clientSecret, card: (card.value || {}).card || {} }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) return { error: body.error || { message: "declined" } };
      if (body.status === "requires_action") return authenticate(clientSecret, data);
      return { paymentIntent: body };
    };
    return stripe;
  };
})();
"""


def script(request):
    path = os.path.join(os.path.dirname(os.path.realpath(server.__file__)), "localstripe-v3.js")
    with open(path, encoding="utf-8") as handle:
        return web.Response(text=handle.read() + COMPLETION, content_type="application/javascript")


async def confirm_with_card(request):
    data = await request.json()
    key, secret, card = data.get("key"), data.get("client_secret"), data.get("card") or {}
    if not isinstance(key, str) or not key.startswith("pk_"):
        raise UserError(401, "Unauthorized")
    intent = resources.PaymentIntent._api_retrieve(request.match_info["id"])
    if secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    method = resources.PaymentMethod._api_create(type="card", card={
        "number": str(card.get("number", "")), "exp_month": str(card.get("exp_month", "")),
        "exp_year": str(card.get("exp_year", "")), "cvc": str(card.get("cvc", ""))})
    resources.PaymentIntent._api_update(intent.id, payment_method=method.id)
    intent = resources.PaymentIntent._api_confirm(intent.id)
    return server.json_response(intent._export())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    server.app.router.add_get("/js.stripe.com/v3/completed.js", script)
    server.app.router.add_post("/js.stripe.com/v3/confirm/{id}", confirm_with_card)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    web.run_app(server.app, sock=sock, print=None)


if __name__ == "__main__":
    main()
