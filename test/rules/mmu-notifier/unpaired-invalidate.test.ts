import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/unpaired-invalidate');
