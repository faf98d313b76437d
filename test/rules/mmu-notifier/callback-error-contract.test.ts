import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/callback-error-contract');
