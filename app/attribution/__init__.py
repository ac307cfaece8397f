"""Attribution methods (Grad-CAM, saliency, Integrated Gradients, occlusion), their sanity
check and faithfulness (deletion and insertion), and their figures."""
