package org.dl4jgrowth.network;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link NetworkAdapter#detached}: the controller keeps every training minibatch through it, so a
 * batch outside workspaces is kept as it is (nothing allocated per iteration), and one with any
 * array in a workspace, features, labels or a mask, is copied out with the same values.
 */
class DetachedTest {
    @Test
    void aBatchOutsideWorkspacesIsKeptAsItIs() {
        MultiDataSet b = new MultiDataSet(new INDArray[]{Nd4j.rand(DataType.FLOAT, 4, 3)},
                new INDArray[]{Nd4j.rand(DataType.FLOAT, 4, 2)}, null, new INDArray[]{Nd4j.ones(DataType.FLOAT, 4, 1)});
        assertSame(b, NetworkAdapter.detached(b));
    }

    @Test
    void anyArrayInAWorkspaceIsCopiedOut() {
        WorkspaceConfiguration conf = WorkspaceConfiguration.builder().initialSize(1 << 20).build();
        for (int which = 0; which < 3; which++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3);
            INDArray y = Nd4j.rand(DataType.FLOAT, 4, 2);
            INDArray mask = Nd4j.ones(DataType.FLOAT, 4, 1);
            org.nd4j.linalg.dataset.api.MultiDataSet kept;
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(conf, "DetachedTest")) {
                INDArray[] arrays = {x, y, mask};
                arrays[which] = arrays[which].migrate(true);   // a copy inside the open workspace
                assertTrue(arrays[which].isAttached());
                MultiDataSet b = new MultiDataSet(new INDArray[]{arrays[0]}, new INDArray[]{arrays[1]}, null,
                        new INDArray[]{arrays[2]});
                kept = NetworkAdapter.detached(b);
                assertNotSame(b, kept);
            }
            assertTrue(NetworkAdapter.outsideWorkspaces(kept), "case " + which);
            assertFalse(kept.getFeatures(0).isAttached() || kept.getLabels(0).isAttached()
                    || kept.getLabelsMaskArray(0).isAttached());
            assertEquals(x, kept.getFeatures(0));
            assertEquals(y, kept.getLabels(0));
            assertEquals(mask, kept.getLabelsMaskArray(0));
        }
    }
}
