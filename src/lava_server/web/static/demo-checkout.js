/* The demo merchant page: open checkout with lava-checkout.js, then reload to show balances. */
(function () {
  'use strict';
  var status = document.getElementById('demo-status');
  var checkout = window.LavaCheckout.create({
    onSuccess: function (r) { status.textContent = 'Paid: connection ' + r.connectionId + '. Reloading…'; setTimeout(function () { location.reload(); }, 800); },
    onCancel: function () { status.textContent = 'Checkout cancelled.'; },
    onError: function (r) { status.textContent = 'Could not open checkout: ' + r.error; },
  });
  ['demo-onboarding', 'demo-topup'].forEach(function (id) {
    var button = document.getElementById(id);
    button.addEventListener('click', function () { checkout.open(button.getAttribute('data-token')); });
  });
})();
