// The screenshot reader of the browser tests, on a PNG whose pixels are known: resvg renders a red square on white.
import { Resvg } from '@resvg/resvg-js';
import { expect, test } from 'vitest';
import { decodePng } from './png.js';

test('decodePng reads back the pixels resvg drew', () => {
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="white"/><rect x="10" y="5" width="20" height="10" fill="#ff0000"/></svg>';
  const png = decodePng(Buffer.from(new Resvg(svg).render().asPng()));
  expect([png.width, png.height]).toEqual([40, 30]);
  const at = (x: number, y: number) =>
    Array.from(png.data.subarray((y * png.width + x) * png.channels, (y * png.width + x) * png.channels + 3));
  expect(at(0, 0)).toEqual([255, 255, 255]);
  expect(at(15, 10)).toEqual([255, 0, 0]);
  expect(at(35, 25)).toEqual([255, 255, 255]);
  let red = 0;
  for (let y = 0; y < png.height; y++) for (let x = 0; x < png.width; x++) if (at(x, y).join() === '255,0,0') red++;
  expect(red).toBe(200);
});
