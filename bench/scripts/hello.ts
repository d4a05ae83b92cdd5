/** W4's baseline: the cost of `deno run` itself. */
console.log("hello");
