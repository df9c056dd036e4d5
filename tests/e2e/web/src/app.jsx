// A merchant page: its backend (the e2e test) creates checkout sessions with the Lava Python SDK;
// this page opens them with the real @lavapayments/checkout hook and records what it is told.
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { useLavaCheckout } from '@lavapayments/checkout';

window.__lavaMessages = [];
window.addEventListener('message', (e) => {
  window.__lavaMessages.push({ origin: e.origin, data: e.data });
});

function App() {
  const [status, setStatus] = useState('idle');
  const { open } = useLavaCheckout({
    onSuccess: ({ checkoutSessionId, connectionId }) => setStatus(`success:${checkoutSessionId}:${connectionId}`),
    onCancel: ({ checkoutSessionId }) => setStatus(`cancel:${checkoutSessionId}`),
    onError: ({ error }) => setStatus(`error:${error}`),
  });
  const start = async (mode) => {
    const r = await fetch('/api/create-checkout-session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ checkout_mode: mode }),
    });
    const { checkout_session_token } = await r.json();
    setStatus('opened');
    open(checkout_session_token);
  };
  return (
    <div>
      <button id="onboarding" onClick={() => start('onboarding')}>Connect wallet</button>
      <button id="topup" onClick={() => start('topup')}>Add funds</button>
      <p id="status">{status}</p>
    </div>
  );
}

createRoot(document.getElementById('root')).render(<App />);
