// Timing — progressive enhancement: forms marked data-api post JSON to the API.
'use strict';

function formToJson(form) {
  const body = {};
  for (const field of form.querySelectorAll('input[name], textarea[name], select[name]')) {
    if (field.value === '' && field.dataset.type === 'int') continue;
    body[field.name] = field.dataset.type === 'int' ? Number.parseInt(field.value, 10) : field.value;
  }
  return body;
}

async function submitApiForm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const status = document.querySelector('.api-result');
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const res = await fetch(form.dataset.api, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(formToJson(form)),
    });
    const payload = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(payload.error || `request failed (${res.status})`);
    if (form.dataset.reload) {
      window.location.reload();
      return;
    }
    if (status) {
      status.classList.remove('failed');
      status.textContent = 'Saved.';
    }
  } catch (err) {
    if (status) {
      status.classList.add('failed');
      status.textContent = err.message;
    }
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  for (const form of document.querySelectorAll('form[data-api]')) {
    form.addEventListener('submit', submitApiForm);
  }
});
