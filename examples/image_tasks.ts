/**
 * The task module of examples/image_blur.ts: the image work that runs inside the workers.
 *
 * It imports jimp (pure JavaScript, from npm). A task module is the natural home for code
 * with imports: each worker imports this file once, and the exports are typed for the pool.
 *
 * @module
 */

import { Jimp } from "jimp";

/** Where an image went, and its size. */
export interface ImageInfo {
  readonly path: string;
  readonly width: number;
  readonly height: number;
}

/**
 * Blurs the image at `inPath` with a Gaussian kernel of `radius` pixels and writes it as a
 * PNG to `outPath`, like Pillow's `img.filter(ImageFilter.GaussianBlur(radius)).save(out)`.
 */
export async function blurImage(
  inPath: string,
  outPath: string,
  radius: number,
): Promise<ImageInfo> {
  const image = await Jimp.read(await readBytes(inPath));
  image.gaussian(radius);
  await Deno.writeFile(outPath, new Uint8Array(await image.getBuffer("image/png")));
  return { path: outPath, width: image.width, height: image.height };
}

/**
 * Writes a `size`×`size` PNG test card to `path`: a checkerboard in colours picked by
 * `index`, whose sharp edges make a blur easy to see.
 */
export async function makeSampleImage(path: string, index: number, size = 64): Promise<ImageInfo> {
  const palette = [0xe63946ff, 0xf1faeeff, 0x457b9dff, 0x1d3557ff, 0xffb703ff, 0x2a9d8fff];
  const light = palette[index % palette.length]!;
  const dark = palette[(index + 3) % palette.length]!;
  const cell = 4 + 2 * (index % 4); // a different pattern per image
  const image = new Jimp({ width: size, height: size, color: light });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((Math.floor(x / cell) + Math.floor(y / cell)) % 2 === 1) image.setPixelColor(dark, x, y);
    }
  }
  await Deno.writeFile(path, new Uint8Array(await image.getBuffer("image/png")));
  return { path, width: size, height: size };
}

async function readBytes(path: string): Promise<ArrayBuffer> {
  const bytes = await Deno.readFile(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
