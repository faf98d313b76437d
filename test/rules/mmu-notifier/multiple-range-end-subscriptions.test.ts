import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/multiple-range-end-subscriptions');
