import t from 'tap';
import { applyMask, deriveMasks } from '../../proxy/comparison/mask.ts';

/** Every mask applied in turn. */
const masked = (value: string, masks: readonly string[]) => masks.reduce(applyMask, value);

t.test('the mask covers the varying token only, anchored on the word before it', async (t) => {
  const page = (nonce: string, text = 'Leave a comment') => `<form id="commentform"><input type="hidden" name="_wpnonce" value="${nonce}"><p>${text}</p></form>`;
  const masks = deriveMasks(page('a1b2c3d4e5'), page('9f8e7d6c5b'));
  t.same(masks, ['(?<=value=")[0-9a-f]{10}']);
  t.equal(masked(page('0011223344'), masks!), masked(page('5566778899'), masks!), 'any other nonce is masked');
  t.not(masked(page('0011223344'), masks!), masked(page('5566778899', 'Leave a reply'), masks!), 'a change in the text is not');
});

t.test('several tokens of one shape are masked each; a counter gets a digit class', async (t) => {
  t.same(deriveMasks('order 1234 of customer 77 was shipped on Monday', 'order 1299 of customer 78 was shipped on Monday'), ['(?<=order )\\d{4}', '(?<=customer )\\d{2}']);
  t.same(deriveMasks('you have 9 new messages in your inbox today', 'you have 10 new messages in your inbox today'), ['(?<=have )\\d+']);
});

t.test('no mask when the value varies as a whole: short values, other sentences, mostly-token strings', async (t) => {
  t.equal(deriveMasks('2026-12-08T01:00:00Z', '2026-12-08T01:00:01Z'), undefined, 'a clock');
  t.equal(deriveMasks('req-7f3a9c1e-55aa-4a1b', 'req-0b2d4e6f-77cc-4d2e'), undefined, 'a request id');
  t.equal(deriveMasks('The quick brown fox jumps over the lazy dog', 'A slow red fox walks under the busy bridge'), undefined, 'different text');
  t.equal(deriveMasks('id 123e4567-e89b-12d3-a456-426614174000', 'id 9b2e4567-aaaa-12d3-a456-426614174999'), undefined, 'a uuid with a label');
});
