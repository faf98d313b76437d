import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/sleep-in-nonblockable');
