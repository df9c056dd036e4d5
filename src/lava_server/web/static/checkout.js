/* The hosted checkout page's own script: parent messages, amount chips, Stripe.js card. */
(function () {
  'use strict';
  var body = document.body;
  var origin = body.getAttribute('data-origin');
  var sessionId = body.getAttribute('data-session');

  function post(message) {
    // Only ever to the exact origin the merchant registered for this session.
    if (origin && window.parent && window.parent !== window) window.parent.postMessage(message, origin);
  }

  if (body.getAttribute('data-result') === 'success') {
    post({ type: 'lava_checkout_success', checkoutSessionId: sessionId, connectionId: body.getAttribute('data-connection') });
  }
  var cancel = document.getElementById('lava-cancel');
  if (cancel) cancel.addEventListener('click', function () { post({ type: 'lava_checkout_cancel', checkoutSessionId: sessionId }); });

  var amount = document.getElementById('amount');
  Array.prototype.forEach.call(document.querySelectorAll('.chip'), function (chip) {
    chip.addEventListener('click', function () { if (amount) { amount.value = chip.getAttribute('data-amount'); amount.focus(); } });
  });

  var newCard = document.getElementById('new-card');
  var useSaved = document.getElementById('use-saved');
  function toggleCard() { if (newCard && useSaved) newCard.hidden = useSaved.checked; }
  Array.prototype.forEach.call(document.querySelectorAll('input[name=card_choice]'), function (r) { r.addEventListener('change', toggleCard); });
  toggleCard();

  var form = document.getElementById('pay-form');
  if (form && form.getAttribute('data-stripe-key') && typeof window.Stripe === 'function') {
    var stripe = window.Stripe(form.getAttribute('data-stripe-key'));
    var card = stripe.elements().create('card');
    card.mount('#card-element');
    var button = document.getElementById('pay');
    form.addEventListener('submit', function (ev) {
      if (useSaved && useSaved.checked) return;
      ev.preventDefault();
      button.disabled = true;
      stripe.confirmCardSetup(form.getAttribute('data-client-secret'), { payment_method: { card: card } }).then(function (r) {
        if (r.error) {
          document.getElementById('client-error').value = (r.error.code || 'card_declined') + ':' + (r.error.message || '');
        } else {
          document.getElementById('setup-intent').value = r.setupIntent.id;
        }
        form.submit();
      });
    });
  }
})();
