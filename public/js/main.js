// The demo page: plain ES modules, no build step, every asset served by the service itself.
import { initApiKey } from './api-key.js';
import { initChat } from './chat.js';
import { initDigits } from './digits.js';
import { initMosaic } from './mosaic.js';

initApiKey();
initChat();
initDigits();
initMosaic();
