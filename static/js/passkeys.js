// Security keys and passkeys (WebAuthn): runs the browser's ceremony for a button marked
// data-passkey="register" or "verify" and sends the answer back as a form field. No build step.
(function () {
  "use strict";
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  };
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function creationOptions(json) {
    return {
      ...json,
      challenge: toBytes(json.challenge),
      user: { ...json.user, id: toBytes(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  }

  function requestOptions(json) {
    return {
      ...json,
      challenge: toBytes(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  }

  function answer(credential) {
    const response = { clientDataJSON: toText(credential.response.clientDataJSON) };
    if (credential.response.attestationObject) {
      response.attestationObject = toText(credential.response.attestationObject);
      response.transports = credential.response.getTransports ? credential.response.getTransports() : [];
    } else {
      response.authenticatorData = toText(credential.response.authenticatorData);
      response.signature = toText(credential.response.signature);
      if (credential.response.userHandle) response.userHandle = toText(credential.response.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    };
  }

  async function post(url, fields, csrf) {
    const body = new URLSearchParams(fields);
    const reply = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
    });
    const data = await reply.json();
    if (!reply.ok) throw new Error(data.detail || "The request was refused.");
    return data;
  }

  async function run(button) {
    const box = button.closest("[data-passkey-box]");
    const status = box.querySelector("[data-passkey-status]");
    const csrf = box.querySelector("input[name=csrfmiddlewaretoken]").value;
    const register = button.dataset.passkey === "register";
    status.textContent = "Follow your browser's prompt…";
    try {
      const options = await post(button.dataset.optionsUrl, {}, csrf);
      const credential = register
        ? await navigator.credentials.create({ publicKey: creationOptions(options) })
        : await navigator.credentials.get({ publicKey: requestOptions(options) });
      const fields = { credential: JSON.stringify(answer(credential)), next: button.dataset.next || "" };
      const name = box.querySelector("input[name=key-name]");
      if (name) fields.name = name.value;
      const done = await post(button.dataset.url, fields, csrf);
      window.location.assign(done.redirect);
    } catch (error) {
      status.textContent = error.message || String(error);
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-passkey]");
    if (!button) return;
    event.preventDefault();
    if (!window.PublicKeyCredential) {
      button.closest("[data-passkey-box]").querySelector("[data-passkey-status]").textContent =
        "This browser cannot use security keys.";
      return;
    }
    run(button);
  });
})();
