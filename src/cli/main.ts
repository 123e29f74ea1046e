// Entry point of ./image-builder.
import { main } from "./program.js";

process.exitCode = await main(process.argv);
