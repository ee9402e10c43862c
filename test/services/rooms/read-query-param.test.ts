import t from 'tap';
import { readQueryParam } from '../../../services/rooms/read-query-param.ts';

t.test('reads a parameter as PHP fills $_GET', async (t) => {
  const cases: Array<[string, string, ReturnType<typeof readQueryParam>]> = [
    ['/api/rooms', 'page', { kind: 'absent' }],
    ['/api/rooms?', 'page', { kind: 'absent' }],
    ['/api/rooms?page=2', 'page', { kind: 'string', value: '2' }],
    ['/api/rooms?page=', 'page', { kind: 'string', value: '' }],
    ['/api/rooms?page', 'page', { kind: 'string', value: '' }],
    ['/api/rooms?page=1&page=3', 'page', { kind: 'string', value: '3' }],
    ['/api/rooms?page[]=1', 'page', { kind: 'array' }],
    ['/api/rooms?page[x]=1&page=4', 'page', { kind: 'string', value: '4' }],
    ['/api/rooms?page=4&page[]=1', 'page', { kind: 'array' }],
    ['/api/rooms?per.page=5', 'per_page', { kind: 'string', value: '5' }],
    ['/api/rooms?per+page=5', 'per_page', { kind: 'string', value: '5' }],
    ['/api/rooms?+page=5', 'page', { kind: 'string', value: '5' }],
    ['/api/rooms?per[page=5', 'per_page', { kind: 'string', value: '5' }],
    ['/api/rooms?[page]=5', 'page', { kind: 'absent' }],
    ['/api/rooms?topic=a%20b+c', 'topic', { kind: 'string', value: 'a b c' }],
    ['/api/rooms?topics=math', 'topic', { kind: 'absent' }],
  ];
  for (const [url, name, expected] of cases) {
    t.strictSame(readQueryParam(url, name), expected, `${name} of ${url}`);
  }
});
