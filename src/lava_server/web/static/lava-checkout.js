/*! lava-checkout.js: open a Lava checkout session from any page, no framework needed.
 *
 *   <script src="https://YOUR-LAVA-SERVER/static/lava-checkout.js"></script>
 *   const checkout = LavaCheckout.create({
 *     onSuccess: ({checkoutSessionId, connectionId}) => {...},   // verify server-side!
 *     onCancel:  ({checkoutSessionId}) => {...},
 *     onError:   ({checkoutSessionId, error}) => {...},
 *   });
 *   checkout.open(checkoutSessionToken);
 *
 * Same token, iframe and callbacks as @lavapayments/checkout's useLavaCheckout, but:
 * - messages are accepted only from the checkout iframe (event.source) and from the
 *   origin of the token's base (event.origin);
 * - the token's base must be an allowed origin: by default the origin this script was
 *   loaded from (pass allowedOrigins to change it), so a forged token cannot open a
 *   look-alike page;
 * - onError never receives the raw token (it contains the session secret).
 */
(function (global) {
  'use strict';
  var scriptOrigin = (function () {
    try { return new URL(document.currentScript.src).origin; } catch (e) { return null; }
  })();

  function decode(token) {
    var data = JSON.parse(atob(String(token)));
    if (!data || typeof data.secret !== 'string' || typeof data.base !== 'string' || !data.secret || !data.base) {
      throw new Error('checkout token must contain secret and base');
    }
    if (!/^[A-Za-z0-9_-]+$/.test(data.secret)) throw new Error('checkout token has an invalid secret');
    var base = new URL(data.base);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('checkout base must be http(s)');
    return { secret: data.secret, base: base.href.replace(/\/?$/, '/'), origin: base.origin };
  }

  function create(options) {
    options = options || {};
    var allowed = options.allowedOrigins || (scriptOrigin ? [scriptOrigin] : []);
    var frame = null;
    var expectedOrigin = null;

    function beforeUnload(ev) { ev.preventDefault(); ev.returnValue = ''; }

    function onMessage(ev) {
      if (!frame || ev.source !== frame.contentWindow || ev.origin !== expectedOrigin) return;
      var d = ev.data;
      if (!d || typeof d !== 'object') return;
      if (d.type === 'lava_checkout_success') {
        close();
        if (options.onSuccess) options.onSuccess({ checkoutSessionId: d.checkoutSessionId, connectionId: d.connectionId });
      } else if (d.type === 'lava_checkout_cancel') {
        close();
        if (options.onCancel) options.onCancel({ checkoutSessionId: d.checkoutSessionId });
      }
    }

    function close() {
      if (frame && frame.parentNode) frame.parentNode.removeChild(frame);
      frame = null;
      expectedOrigin = null;
      global.removeEventListener('message', onMessage);
      global.removeEventListener('beforeunload', beforeUnload);
    }

    function open(token) {
      var t;
      try {
        t = decode(token);
        if (allowed.indexOf(t.origin) < 0) throw new Error('checkout origin ' + t.origin + ' is not allowed');
      } catch (err) {
        if (options.onError) options.onError({ checkoutSessionId: null, error: String((err && err.message) || err) });
        return;
      }
      close();
      frame = document.createElement('iframe');
      frame.src = t.base + 'embed/checkout/' + t.secret;
      frame.title = 'Checkout';
      frame.setAttribute('sandbox', 'allow-forms allow-scripts allow-same-origin');
      frame.referrerPolicy = 'no-referrer';
      frame.allow = 'payment';
      var s = frame.style;
      s.position = 'fixed'; s.top = '0'; s.left = '0'; s.width = '100%'; s.height = '100%';
      s.border = 'none'; s.background = 'transparent'; s.zIndex = '2147483647';
      expectedOrigin = t.origin;
      global.addEventListener('message', onMessage);
      global.addEventListener('beforeunload', beforeUnload);
      document.body.appendChild(frame);
    }

    return { open: open, close: close };
  }

  global.LavaCheckout = { create: create, version: '1' };
})(window);
