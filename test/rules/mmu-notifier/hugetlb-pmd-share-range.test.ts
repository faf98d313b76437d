import {ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/hugetlb-pmd-share-range');
