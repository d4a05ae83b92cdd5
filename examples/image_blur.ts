/**
 * Batch image processing: a Gaussian blur over every image of a folder, in parallel.
 *
 * Python:
 * ```py
 * def blur_image(path):
 *     img = Image.open(path).filter(ImageFilter.GaussianBlur(2))
 *     img.save(os.path.join("blurred", os.path.basename(path)))
 *
 * with Pool() as pool:
 *     pool.map(blur_image, glob.glob("images/*.png"))
 * ```
 *
 * Run: `deno run --allow-read --allow-write --allow-env examples/image_blur.ts [folder]`
 *
 * (`--allow-env` is for jimp: its `debug` dependency lists `process.env` when it loads.)
 *
 * With a folder, it blurs the images in it (PNG, JPEG, BMP, GIF, TIFF) into `folder/blurred/`.
 * Without one, it first writes 4 small sample PNGs into a new temporary folder, and leaves
 * it there for you to look at.
 *
 * @module
 */

import { Pool, taskModule } from "../mod.ts";

// The image code imports jimp from npm, so it lives in a task module, not an inline function.
const tasks = taskModule<typeof import("./image_tasks.ts")>(
  new URL("./image_tasks.ts", import.meta.url),
);

const RADIUS = 2;
const SAMPLES = 4;
const IMAGE_FILE = /\.(png|jpe?g|bmp|gif|tiff?)$/i;

await using pool = new Pool();

let inputDir: string;
if (Deno.args[0] === undefined) {
  inputDir = await Deno.makeTempDir({ prefix: "seed-pool-images-" });
  // The samples are made in parallel too: starmap spreads [path, index] into the arguments.
  const samples = Array.from(
    { length: SAMPLES },
    (_, i) => [`${inputDir}/sample-${i + 1}.png`, i] as [string, number],
  );
  await pool.starmap(tasks.makeSampleImage, samples);
} else {
  inputDir = await Deno.realPath(Deno.args[0]);
}
const outputDir = `${inputDir}/blurred`;
await Deno.mkdir(outputDir, { recursive: true });

const names: string[] = [];
for await (const entry of Deno.readDir(inputDir)) {
  if (entry.isFile && IMAGE_FILE.test(entry.name)) names.push(entry.name);
}
names.sort();

const jobs = names.map((name) =>
  [`${inputDir}/${name}`, `${outputDir}/${name.replace(IMAGE_FILE, ".png")}`, RADIUS] as [
    string,
    string,
    number,
  ]
);
const outputs = await pool.starmap(tasks.blurImage, jobs);

console.log(`input folder: ${inputDir}`);
console.log(`blurred ${outputs.length} images (Gaussian, radius ${RADIUS}):`);
for (const { path, width, height } of outputs) console.log(`${path} (${width}×${height})`);
